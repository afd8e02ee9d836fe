import { watch } from 'chokidar';
import { open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError } from '../files';
import { writeFileAtomic } from './atomic';

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
   * Calls `onChange` when an entry of `folder` changes, once the returned promise resolves.
   * Absent where the file system sends no events (9p, SFTP): the client polls instead.
   */
  readonly watch?: (folder: string, onChange: () => void) => Promise<RealmFsWatch>;
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
   * Subscribe to file events (chokidar) besides polling; default true. 9p shares deliver no
   * events, so an FVP share sets false and relies on polling alone.
   */
  fileEvents?: boolean;
}

/** A shared folder on a file system of this machine (a local folder or a mounted 9p share). */
export class LocalRealmFs implements RealmFs {
  readonly path = path;
  readonly description = 'local folder';
  readonly watch?: (folder: string, onChange: () => void) => Promise<RealmFsWatch>;

  constructor(options: LocalRealmFsOptions = {}) {
    if (options.fileEvents ?? true) this.watch = watchFolder;
  }

  async readFile(file: string): Promise<Buffer | undefined> {
    try {
      return await readFile(file);
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw error;
    }
  }

  async readFrom(file: string, offset: number): Promise<RealmFileTail | undefined> {
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
      const info = await stat(file);
      return { size: info.size, mtimeMs: info.mtimeMs };
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw error;
    }
  }

  writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
    return writeFileAtomic(file, data);
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
      await unlink(file);
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

/** Subscribes to the entries of one folder (not its subfolders) with chokidar. */
async function watchFolder(folder: string, onChange: () => void): Promise<RealmFsWatch> {
  const watcher = watch(folder, { ignoreInitial: true, depth: 0 });
  watcher.on('all', () => onChange());
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { close: () => watcher.close() };
}

/** The default file system of the client: this machine's, with file events. */
export const localRealmFs: RealmFs = new LocalRealmFs();
