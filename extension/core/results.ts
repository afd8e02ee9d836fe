import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError, pathExists } from './files';
import type { ImageResult } from './protocol/client';
import type { Prediction } from './protocol/output';

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

/** A results file's records, and how many of its lines could not be read. */
export interface StoredRun {
  file: string;
  results: ImageResult[];
  /** Lines that are not a valid result record (a torn last line, or an edited file). */
  invalidLines: number;
}

/** Reads a JSON Lines results file, skipping lines that are not a valid record. */
export async function readResultsFile(file: string): Promise<StoredRun> {
  const text = await readFile(file, 'utf8');
  const results: ImageResult[] = [];
  let invalidLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const record = parseRecord(line);
    if (record) results.push(record);
    else invalidLines += 1;
  }
  return { file, results, invalidLines };
}

/** Lists the results files under `.cca/results/` in `baseDir`, newest first by name. */
export async function listResultsFiles(baseDir: string): Promise<string[]> {
  const folder = path.join(baseDir, resultsFolder);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (isMissingFileError(error)) return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .reverse()
    .map((name) => path.join(folder, name));
}

function parseRecord(line: string): ImageResult | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const top5 = Array.isArray(record.top5) ? record.top5.filter(isPrediction) : undefined;
  if (typeof record.image !== 'string' || !top5) return undefined;
  return {
    image: record.image,
    top5,
    ms: typeof record.ms === 'number' ? record.ms : null,
    error: typeof record.error === 'string' ? record.error : null,
  };
}

function isPrediction(value: unknown): value is Prediction {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.index === 'number' && typeof p.label === 'string' && typeof p.confidence === 'number'
  );
}

/**
 * Returns where the thumbnail of a run's image is kept: `.cca/thumbnails/<run>/<position>.png`
 * beside `.cca/results/<run>.jsonl`.
 */
export function thumbnailPath(resultsFile: string, position: number): string {
  const ccaFolder = path.dirname(path.dirname(resultsFile));
  return path.join(
    ccaFolder,
    'thumbnails',
    path.basename(resultsFile, '.jsonl'),
    `${position}.png`,
  );
}
