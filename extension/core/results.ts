import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from './files';
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
 * file is never appended to or overwritten. It is created with the first result, so a run that
 * fails before any image leaves no empty file.
 */
export class ResultsWriter {
  private created = false;

  private constructor(readonly file: string) {}

  /** Checks that the file does not exist yet and that its folder can be created. */
  static async create(file: string): Promise<ResultsWriter> {
    if (await pathExists(file)) throw new ResultsFileExistsError(file);
    await mkdir(path.dirname(file), { recursive: true });
    return new ResultsWriter(file);
  }

  async append(result: ImageResult): Promise<void> {
    const record = { image: result.image, top5: result.top5, ms: result.ms, error: result.error };
    const line = JSON.stringify(record) + '\n';
    if (this.created) {
      await appendFile(this.file, line);
      return;
    }
    try {
      await writeFile(this.file, line, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ResultsFileExistsError(this.file, { cause: error });
      }
      throw error;
    }
    this.created = true;
  }

  /** True once the first result has been written. */
  get hasResults(): boolean {
    return this.created;
  }
}

/** Raised when the results file exists already, because it is never overwritten. */
export class ResultsFileExistsError extends Error {
  constructor(file: string, options?: ErrorOptions) {
    super(`Results file ${file} already exists; choose another path or remove it`, options);
    this.name = 'ResultsFileExistsError';
  }
}
