import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  watch,
} from 'node:fs';
import { open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError } from '../files';
import { writeFileAtomic, writeFileAtomicSync } from './atomic';

/** Size and modification time of a file in the shared folder. */
export interface RealmFileInfo {
  size: number;
  /** Modification time in milliseconds since the epoch, by the clock of the folder's host. */
  mtimeMs: number;
}

/** Bytes read from an offset to the end of a file, with the file's size at the time. */
export interface RealmFileTail {
  /** Empty when the file is no longer than the offset. */
  bytes: Buffer;
  size: number;
}

/** A subscription to a folder's file events. */
export interface RealmFsWatch {
  close(): Promise<void>;
}

/**
 * The file operations the normal-world client performs on the shared folder, so that the
 * folder can be local, a 9p share or reached over SFTP. Paths are absolute paths in the
 * folder's own file system, built with `path`.
 */
export interface RealmFs {
  /** Path functions of the folder's file system: Node's own locally, POSIX over SFTP. */
  readonly path: path.PlatformPath;
  /** The folder's location for logs and errors: `local folder`, `ssh://root@host:8022`. */
  readonly description: string;
  /** Reads a whole file; undefined when it does not exist. */
  readFile(file: string): Promise<Buffer | undefined>;
  /** Reads a file from `offset` to its end; undefined when it does not exist. */
  readFrom(file: string, offset: number): Promise<RealmFileTail | undefined>;
  /** Returns a file's size and time; undefined when it does not exist. */
  stat(file: string): Promise<RealmFileInfo | undefined>;
  /** Replaces a file through a temporary file and a rename, so no reader sees a torn write. */
  writeFileAtomic(file: string, data: string | Uint8Array): Promise<void>;
  /** Creates a file that must not exist yet (O_EXCL); returns false when it exists. */
  createExclusive(file: string, data: string): Promise<boolean>;
  /** Removes a file; returns false when it did not exist. */
  remove(file: string): Promise<boolean>;
  /** Lists the names of the entries of a folder. */
  list(folder: string): Promise<string[]>;
  /**
   * Calls `onChange` with the entry's name (undefined when the platform does not report it)
   * when an entry of `folder` changes, once the returned promise resolves. Absent where the
   * file system sends no events (9p, SFTP): the client polls instead.
   */
  readonly watch?: (
    folder: string,
    onChange: (fileName: string | undefined) => void,
  ) => Promise<RealmFsWatch>;
  /** Releases the connection, if there is one. */
  close(): Promise<void>;
}

/**
 * Raised when the connection to the folder dropped while a write was in flight, so it is not
 * known whether the write took effect. The connection is being re-established; the caller
 * decides whether writing again is safe, for example after re-reading the signalling file.
 */
export class RealmFsInterruptedError extends Error {
  constructor(
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(
      `The connection dropped while writing ${file}; the write may or may not have happened`,
      options,
    );
    this.name = 'RealmFsInterruptedError';
  }
}

/**
 * Raised when the shared folder cannot be reached: the connection failed, or dropped and could
 * not be re-established. It ends a batch, since later images would fail the same way.
 */
export class RealmFsConnectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RealmFsConnectionError';
  }
}

/**
 * Runs a write again when the connection dropped during it. Only for writes that are safe to
 * repeat, such as the same bytes to the same file.
 */
export async function retryInterrupted<T>(write: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof RealmFsInterruptedError) || attempt >= attempts) throw error;
    }
  }
}

export interface LocalRealmFsOptions {
  /**
   * Subscribe to file events (fs.watch) besides polling; default true. 9p shares deliver no
   * events, so an FVP share sets false and relies on polling alone.
   */
  fileEvents?: boolean;
  /**
   * Read and stat files, remove them, and write at most `blockingWriteBytes` (the signalling
   * file, not image copies) with blocking calls; default true. On a local disk each call blocks
   * for microseconds. The thread pool's round trips that they replace cost about 1 ms per image
   * on a busy 2-core machine, a third of the protocol's time with a realm that runs no model
   * (bench/protocol-overhead.mjs). Set false for a folder on a network file system, whose calls
   * may block for long.
   */
  blockingIo?: boolean;
}

/** Largest write that LocalRealmFs makes with blocking calls, such as the signalling file. */
const blockingWriteBytes = 4096;

/** A shared folder on a file system of this machine (a local folder or a mounted 9p share). */
export class LocalRealmFs implements RealmFs {
  readonly path = path;
  readonly description = 'local folder';
  readonly watch?: (
    folder: string,
    onChange: (fileName: string | undefined) => void,
  ) => Promise<RealmFsWatch>;
  private readonly blocking: boolean;

  constructor(options: LocalRealmFsOptions = {}) {
    if (options.fileEvents ?? true) this.watch = watchFolder;
    // NOTE: blocking by default, also for a shared folder that a user puts on a network file
    // system, where a hung server would stall the calling thread (the extension host).
    this.blocking = options.blockingIo ?? true;
  }

  async readFile(file: string): Promise<Buffer | undefined> {
    try {
      return this.blocking ? readFileSync(file) : await readFile(file);
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw error;
    }
  }

  async readFrom(file: string, offset: number): Promise<RealmFileTail | undefined> {
    if (this.blocking) return readFromSync(file, offset);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (size <= offset) return { bytes: Buffer.alloc(0), size };
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      return { bytes: buffer.subarray(0, bytesRead), size };
    } finally {
      await handle.close();
    }
  }

  async stat(file: string): Promise<RealmFileInfo | undefined> {
    try {
      const info = this.blocking ? statSync(file) : await stat(file);
      return { size: info.size, mtimeMs: info.mtimeMs };
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw error;
    }
  }

  async writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
    if (this.blocking && data.length <= blockingWriteBytes) {
      writeFileAtomicSync(file, data);
    } else {
      await writeFileAtomic(file, data);
    }
  }

  async createExclusive(file: string, data: string): Promise<boolean> {
    let handle;
    try {
      handle = await open(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
    return true;
  }

  async remove(file: string): Promise<boolean> {
    try {
      if (this.blocking) unlinkSync(file);
      else await unlink(file);
      return true;
    } catch (error) {
      if (isMissingFileError(error)) return false;
      throw error;
    }
  }

  list(folder: string): Promise<string[]> {
    return readdir(folder);
  }

  async close(): Promise<void> {
    // Nothing to release for a local folder.
  }
}

/** Does what LocalRealmFs.readFrom does, with blocking calls. */
function readFromSync(file: string, offset: number): RealmFileTail | undefined {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (isMissingFileError(error)) return undefined;
    throw error;
  }
  try {
    const { size } = fstatSync(fd);
    if (size <= offset) return { bytes: Buffer.alloc(0), size };
    const buffer = Buffer.alloc(size - offset);
    const bytesRead = readSync(fd, buffer, 0, buffer.length, offset);
    return { bytes: buffer.subarray(0, bytesRead), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Subscribes to the entries of one folder (not its subfolders) with Node's fs.watch, which
 * reports every event as it comes. chokidar 4, used before, drops further `change` events of a
 * file for 50 ms after one, and the realm's reply often comes within 50 ms of the query.
 */
function watchFolder(
  folder: string,
  onChange: (fileName: string | undefined) => void,
): Promise<RealmFsWatch> {
  const watcher = watch(folder, { persistent: false }, (_event, fileName) =>
    onChange(fileName ?? undefined),
  );
  // The client polls as well, so a watcher that fails (its folder was removed, for example)
  // only makes the client slower: the error is not thrown.
  watcher.on('error', () => watcher.close());
  return Promise.resolve({
    close: () => {
      watcher.close();
      return Promise.resolve();
    },
  });
}

/** The default file system of the client: this machine's, with file events. */
export const localRealmFs: RealmFs = new LocalRealmFs();
