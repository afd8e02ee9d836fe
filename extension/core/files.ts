import { access } from 'node:fs/promises';

/** Returns true for the error Node.js raises when a path does not exist. */
export function isMissingFileError(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Returns whether a path exists (any file type). */
export async function pathExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
