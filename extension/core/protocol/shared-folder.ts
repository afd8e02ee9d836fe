import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { localRealmFs, retryInterrupted, type RealmFs } from './realm-fs';

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
  fs: RealmFs = localRealmFs,
): Promise<string> {
  // The source is a file of this machine; the copy's path belongs to the folder's file system.
  const base = path
    .basename(sourcePath, path.extname(sourcePath))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 60);
  for (let attempt = 0; ; attempt += 1) {
    const suffix = attempt === 0 ? '' : `-${attempt}`;
    const copy = fs.path.join(sharedDir, `cca-${batchId}-${sequence}-${base}${suffix}.bmp`);
    if ((await fs.stat(copy)) === undefined) {
      try {
        await retryInterrupted(() => fs.writeFileAtomic(copy, bytes));
      } catch (error) {
        throw describeCopyError(error, sourcePath, sharedDir, fs);
      }
      return copy;
    }
  }
}

/**
 * Names the image and the shared folder in a local file-system error, whose own message may
 * name neither (`ENOSPC: no space left on device, write`). Other errors already name the file,
 * or are connection errors that the client handles by their type.
 */
function describeCopyError(
  error: unknown,
  sourcePath: string,
  sharedDir: string,
  fs: RealmFs,
): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (!(error instanceof Error) || typeof errno.syscall !== 'string') return error;
  const reason =
    errno.code === 'ENOSPC'
      ? 'no space left on its file system (ENOSPC); free some space there and try again'
      : error.message;
  const where = `the shared folder ${sharedDir} on ${fs.description}`;
  return Object.assign(
    new Error(`Copying ${sourcePath} into ${where} failed: ${reason}`, { cause: error }),
    { code: errno.code },
  );
}

/** Removes a copy the client created; a copy that is already gone is fine. */
export async function removeImageCopy(copy: string, fs: RealmFs = localRealmFs): Promise<void> {
  if (!isClientCopy(fs.path.basename(copy))) {
    throw new Error(`Refusing to delete ${copy}: it is not an image copy made by this client`);
  }
  await fs.remove(copy);
}

/**
 * Lists copies left by earlier batches that ended without cleaning up (a crash, a cancel
 * while the realm still held the image, a timeout).
 */
export async function findLeftoverCopies(
  sharedDir: string,
  fs: RealmFs = localRealmFs,
): Promise<string[]> {
  const names = await fs.list(sharedDir);
  return names.filter((name) => isClientCopy(name)).map((name) => fs.path.join(sharedDir, name));
}

/**
 * Reads the whole lines appended to a file since `offset`, and returns them with the next
 * offset. A file now shorter than the offset was recreated (a restarted realm service truncates
 * output.txt), so it is read from the start and `truncated` is true.
 * NOTE: a file recreated and grown past the offset between two reads looks appended to, so its
 * start is skipped. The client then finds no output for the image and sends the query again.
 */
export async function readAppended(
  file: string,
  offset: number,
  fs: RealmFs = localRealmFs,
): Promise<{ text: string; nextOffset: number; truncated: boolean }> {
  let tail = await fs.readFrom(file, offset);
  if (!tail) return { text: '', nextOffset: offset, truncated: false };
  const truncated = tail.size < offset;
  const start = truncated ? 0 : offset;
  if (truncated) tail = await fs.readFrom(file, 0);
  if (!tail || tail.bytes.length === 0) return { text: '', nextOffset: start, truncated };

  // Cut at the last newline so a multi-byte character is never split between two reads.
  const lastNewline = tail.bytes.lastIndexOf(0x0a);
  const usable = lastNewline < 0 ? 0 : lastNewline + 1;
  return {
    text: tail.bytes.subarray(0, usable).toString('utf8'),
    nextOffset: start + usable,
    truncated,
  };
}

/** Returns the size of a file, or 0 when it does not exist. */
export async function fileSize(file: string, fs: RealmFs = localRealmFs): Promise<number> {
  return (await fs.stat(file))?.size ?? 0;
}
