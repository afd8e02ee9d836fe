import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { ImageResult } from './protocol/client';

/** Folder of the results files, relative to the workspace or current folder. */
export const resultsFolder = path.join('.cca', 'results');

/** Returns a new results file path under `.cca/results/` in `baseDir`, named by time. */
export function newResultsPath(baseDir: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return path.join(baseDir, resultsFolder, `${stamp}-${randomBytes(2).toString('hex')}.jsonl`);
}

/**
 * Appends results to a JSON Lines file, one object per image, flushed per image so that an
 * interrupted batch keeps every finished result. The file must not exist yet, so that a user's
 * file is never appended to or overwritten.
 */
export class ResultsWriter {
  private constructor(readonly file: string) {}

  static async create(file: string): Promise<ResultsWriter> {
    await mkdir(path.dirname(file), { recursive: true });
    try {
      const handle = await open(file, 'wx');
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new Error(`Results file ${file} already exists; choose another path or remove it`, {
          cause: error,
        });
      }
      throw error;
    }
    return new ResultsWriter(file);
  }

  async append(result: ImageResult): Promise<void> {
    const record = { image: result.image, top5: result.top5, ms: result.ms, error: result.error };
    await appendFile(this.file, JSON.stringify(record) + '\n');
  }
}
