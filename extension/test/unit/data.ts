import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Returns the test data folder (models/, labels/, images/, expected/) from CCA_DATA_DIR, or
 * the copy beside the clone. Throws when neither exists, so that data tests fail, never skip.
 */
export function dataDir(): string {
  const candidates = [
    process.env.CCA_DATA_DIR,
    path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'data'),
  ];
  for (const candidate of candidates) {
    if (candidate && existsSync(path.join(candidate, 'models'))) return path.resolve(candidate);
  }
  throw new Error(
    'Test data not found: set CCA_DATA_DIR to a folder with models/, labels/, images/ and ' +
      'expected/ (CI uses ../shared/data beside the clone).',
  );
}

/** Expected top-5 per model file name and image file name. */
export type ExpectedTop5 = Record<
  string,
  Record<string, { index: number; label: string; confidence: number }[]>
>;

/** The repository root, from the compiled test's location under out/test/. */
export const repositoryRoot = path.resolve(__dirname, '..', '..', '..');
