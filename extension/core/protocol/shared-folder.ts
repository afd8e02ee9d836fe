import { randomBytes } from 'node:crypto';
import { open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic';
import { isMissingFileError, pathExists } from '../files';

// Copies the client places in the shared folder: `cca-<batch id>-<sequence>-<name>.bmp`.
const copyPattern = /^cca-[0-9a-f]{8}-\d+-[A-Za-z0-9._-]*\.bmp$/;

/** Returns a new batch id for the names of the copies a batch creates. */
export function newBatchId(): string {
  return randomBytes(4).toString('hex');
}

/** Returns true for a file name that the client created as an image copy. */
export function isClientCopy(fileName: string): boolean {
  return copyPattern.test(fileName);
}

/**
 * Writes an image copy into the shared folder under a name no existing file has, atomically,
 * so the realm never reads half an image. Returns the copy's path.
 */
export async function placeImageCopy(
  sharedDir: string,
  batchId: string,
  sequence: number,
  sourcePath: string,
  bytes: Uint8Array,
): Promise<string> {
  const base = path
    .basename(sourcePath, path.extname(sourcePath))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 60);
  for (let attempt = 0; ; attempt += 1) {
    const suffix = attempt === 0 ? '' : `-${attempt}`;
    const copy = path.join(sharedDir, `cca-${batchId}-${sequence}-${base}${suffix}.bmp`);
    if (!(await pathExists(copy))) {
      await writeFileAtomic(copy, bytes);
      return copy;
    }
  }
}

/** Removes a copy the client created; a copy that is already gone is fine. */
export async function removeImageCopy(copy: string): Promise<void> {
  if (!isClientCopy(path.basename(copy))) {
    throw new Error(`Refusing to delete ${copy}: it is not an image copy made by this client`);
  }
  await unlink(copy).catch((error: unknown) => {
    if (!isMissingFileError(error)) throw error;
  });
}

/**
 * Lists copies left by earlier batches that ended without cleaning up (a crash, a cancel
 * while the realm still held the image, a timeout), except the one named in `keep`.
 */
export async function findLeftoverCopies(sharedDir: string, keep?: string): Promise<string[]> {
  const names = await readdir(sharedDir);
  return names
    .filter((name) => isClientCopy(name))
    .map((name) => path.join(sharedDir, name))
    .filter((file) => file !== keep);
}

/**
 * Reads the whole lines appended to a file since `offset`, and returns them with the next
 * offset. A file now shorter than the offset was recreated (a restarted realm service truncates
 * output.txt), so it is read from the start and `truncated` is true.
 */
export async function readAppended(
  file: string,
  offset: number,
): Promise<{ text: string; nextOffset: number; truncated: boolean }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isMissingFileError(error)) return { text: '', nextOffset: offset, truncated: false };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const truncated = size < offset;
    const start = truncated ? 0 : offset;
    if (size === start) return { text: '', nextOffset: start, truncated };

    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    // Cut at the last newline so a multi-byte character is never split between two reads.
    const lastNewline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    const usable = lastNewline < 0 ? 0 : lastNewline + 1;
    return {
      text: buffer.subarray(0, usable).toString('utf8'),
      nextOffset: start + usable,
      truncated,
    };
  } finally {
    await handle.close();
  }
}

/** Returns the size of a file, or 0 when it does not exist. */
export async function fileSize(file: string): Promise<number> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isMissingFileError(error)) return 0;
    throw error;
  }
  try {
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}
