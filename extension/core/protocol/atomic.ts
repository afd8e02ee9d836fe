import { randomBytes } from 'node:crypto';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Returns the name of a temporary file beside `file`, unique to this process and call. Atomic
 * writes put their data there first, so the final rename stays within one folder.
 */
export function temporaryPath(file: string, pathApi: path.PlatformPath = path): string {
  return pathApi.join(
    pathApi.dirname(file),
    `.${pathApi.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/**
 * Writes a file so that a reader sees either the old or the new contents, never a torn mix:
 * the data goes to a temporary file in the same folder, which is then renamed over the target.
 * Rename is atomic within one file system, including the 9p share that a realm mounts.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temporary = temporaryPath(file);
  try {
    await writeFile(temporary, data, { flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Does what writeFileAtomic does, with blocking calls. For the realm loop, which has nothing else
 * to do meanwhile and answers sooner without the thread pool's round trips.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const temporary = temporaryPath(file);
  try {
    writeFileSync(temporary, data, { flag: 'wx' });
    renameSync(temporary, file);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // The temporary file was not created, or is already gone.
    }
    throw error;
  }
}
