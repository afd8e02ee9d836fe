import path from 'node:path';
import type { SshError } from 'ssh2';
import { silentLogger, type Logger } from '../log';
import { temporaryPath } from '../protocol/atomic';
import {
  RealmFsConnectionError,
  RealmFsInterruptedError,
  type RealmFileInfo,
  type RealmFileTail,
  type RealmFs,
} from '../protocol/realm-fs';
import { SshConnection, type SftpSession, type SshOptions } from './ssh-connection';

export {
  SshAuthenticationError,
  SshHostKeyError,
  defaultSshPort,
  type SshConnectionState,
  type SshOptions,
  type UnknownHostKey,
} from './ssh-connection';

export interface SshRealmFsOptions extends SshOptions {
  /**
   * How long one SFTP request may go unanswered before the connection counts as dropped, in
   * milliseconds; default 30000. Keep-alives usually notice a dead connection sooner.
   */
  requestTimeoutMs?: number;
}

// SFTP status codes (SSH File Transfer Protocol version 3, as OpenSSH's sftp-server sends them).
const statusNoSuchFile = 2;
const statusPermissionDenied = 3;
const statusFailure = 4;
const statusNoConnection = 6;
const statusConnectionLost = 7;

/** How many times an operation that is safe to repeat is retried over new connections. */
const maxAttempts = 5;

/** Raised inside this module when a request's connection dropped; never leaves it. */
class ConnectionDroppedError extends Error {}

/**
 * The shared folder in the normal world's Linux, reached over SFTP (for example through the
 * FVP's forwarded port 8022). SFTP sends no file events, so the client polls. After a dropped
 * connection, reads, lists and removals wait for the reconnection and run again. A write that
 * was in flight raises RealmFsInterruptedError instead, so the caller decides whether to
 * repeat it.
 */
export class SshRealmFs implements RealmFs {
  readonly path = path.posix;
  readonly description: string;
  readonly connection: SshConnection;
  private readonly requestTimeoutMs: number;
  private readonly log: Logger;
  private readonly strayTemporaries = new Set<string>();
  private warnedNonAtomicRename = false;

  constructor(options: SshRealmFsOptions) {
    this.connection = new SshConnection(options);
    this.description = `ssh://${this.connection.target}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.log = options.log ?? silentLogger;
  }

  /** Connects now, rather than at the first operation, so that errors show before a batch. */
  async connect(): Promise<void> {
    await this.connection.session();
  }

  readFile(file: string): Promise<Buffer | undefined> {
    return this.retrying(async (session) => {
      try {
        return await this.request<Buffer>(session, `read ${file}`, (done) =>
          session.sftp.readFile(file, done),
        );
      } catch (error) {
        if (hasStatus(error, statusNoSuchFile)) return undefined;
        throw this.fsError(error, 'read', file);
      }
    });
  }

  readFrom(file: string, offset: number): Promise<RealmFileTail | undefined> {
    return this.retrying(async (session) => {
      let handle: Buffer;
      try {
        handle = await this.request<Buffer>(session, `open ${file}`, (done) =>
          session.sftp.open(file, 'r', done),
        );
      } catch (error) {
        if (hasStatus(error, statusNoSuchFile)) return undefined;
        throw this.fsError(error, 'open', file);
      }
      try {
        return await this.readTail(session, handle, file, offset);
      } finally {
        await this.request(session, `close ${file}`, (done) =>
          session.sftp.close(handle, done),
        ).catch(() => undefined);
      }
    });
  }

  stat(file: string): Promise<RealmFileInfo | undefined> {
    return this.retrying(async (session) => {
      try {
        const stats = await this.request<{ size: number; mtime: number }>(
          session,
          `stat ${file}`,
          (done) => session.sftp.stat(file, done),
        );
        return { size: stats.size, mtimeMs: stats.mtime * 1000 };
      } catch (error) {
        if (hasStatus(error, statusNoSuchFile)) return undefined;
        throw this.fsError(error, 'stat', file);
      }
    });
  }

  list(folder: string): Promise<string[]> {
    return this.retrying(async (session) => {
      try {
        const entries = await this.request<{ filename: string }[]>(
          session,
          `list ${folder}`,
          (done) => session.sftp.readdir(folder, done),
        );
        return entries.map((entry) => entry.filename);
      } catch (error) {
        throw this.fsError(error, 'list', folder);
      }
    });
  }

  remove(file: string): Promise<boolean> {
    return this.retrying(async (session) => {
      try {
        await this.request(session, `remove ${file}`, (done) => session.sftp.unlink(file, done));
        return true;
      } catch (error) {
        if (hasStatus(error, statusNoSuchFile)) return false;
        throw this.fsError(error, 'remove', file);
      }
    });
  }

  async writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    for (let attempt = 1; ; attempt += 1) {
      const session = await this.connection.session();
      await this.removeStrayTemporaries(session);
      const temporary = temporaryPath(file, path.posix);
      try {
        await this.request(session, `write ${temporary}`, (done) =>
          session.sftp.writeFile(temporary, bytes, { flag: 'wx', mode: 0o644 }, done),
        );
      } catch (error) {
        if (!(error instanceof ConnectionDroppedError)) throw this.fsError(error, 'write', file);
        // The target is untouched until the rename, so writing again is safe.
        this.strayTemporaries.add(temporary);
        if (attempt < maxAttempts) continue;
        throw this.gaveUp(file, error);
      }

      try {
        await this.rename(session, temporary, file);
        return;
      } catch (error) {
        this.strayTemporaries.add(temporary);
        if (error instanceof ConnectionDroppedError) {
          throw new RealmFsInterruptedError(file, { cause: error });
        }
        await this.removeStrayTemporaries(session);
        throw this.fsError(error, 'rename', file);
      }
    }
  }

  async createExclusive(file: string, data: string): Promise<boolean> {
    const session = await this.connection.session();
    let handle: Buffer;
    try {
      handle = await this.request<Buffer>(session, `create ${file}`, (done) =>
        session.sftp.open(file, 'wx', done),
      );
    } catch (error) {
      if (error instanceof ConnectionDroppedError) {
        throw new RealmFsInterruptedError(file, { cause: error });
      }
      // SFTP version 3 has no status for an existing file, so OpenSSH returns FAILURE.
      if (hasStatus(error, statusFailure) && (await this.stat(file)) !== undefined) return false;
      throw this.fsError(error, 'create', file);
    }

    try {
      const bytes = Buffer.from(data, 'utf8');
      await this.request(session, `write ${file}`, (done) =>
        session.sftp.write(handle, bytes, 0, bytes.length, 0, done),
      );
    } catch (error) {
      if (error instanceof ConnectionDroppedError) {
        throw new RealmFsInterruptedError(file, { cause: error });
      }
      throw this.fsError(error, 'write', file);
    } finally {
      await this.request(session, `close ${file}`, (done) =>
        session.sftp.close(handle, done),
      ).catch(() => undefined);
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.strayTemporaries.size > 0) {
      const session = await this.connection.session().catch(() => undefined);
      if (session) await this.removeStrayTemporaries(session);
    }
    await this.connection.close();
  }

  private async readTail(
    session: SftpSession,
    handle: Buffer,
    file: string,
    offset: number,
  ): Promise<RealmFileTail> {
    try {
      const { size } = await this.request<{ size: number }>(session, `stat ${file}`, (done) =>
        session.sftp.fstat(handle, done),
      );
      if (size <= offset) return { bytes: Buffer.alloc(0), size };

      const buffer = Buffer.alloc(size - offset);
      let filled = 0;
      // A server may return fewer bytes than asked for, so read until full or end of file.
      while (filled < buffer.length) {
        const count = await this.request<number>(session, `read ${file}`, (done) =>
          session.sftp.read(handle, buffer, filled, buffer.length - filled, offset + filled, done),
        );
        if (count === 0) break;
        filled += count;
      }
      return { bytes: buffer.subarray(0, filled), size };
    } catch (error) {
      throw this.fsError(error, 'read', file);
    }
  }

  /** Renames over an existing file with OpenSSH's posix-rename extension (rename(2)). */
  private async rename(session: SftpSession, from: string, to: string): Promise<void> {
    try {
      await this.request(session, `rename ${from}`, (done) =>
        session.sftp.ext_openssh_rename(from, to, done),
      );
      return;
    } catch (error) {
      if (error instanceof ConnectionDroppedError || typeof (error as SshError).code === 'number') {
        throw error;
      }
      // ssh2 throws before sending when the server lacks the extension.
    }
    // NOTE: without posix-rename, SFTP's RENAME fails on an existing target, so the target is
    // removed first, and for that moment a reader finds no file.
    if (!this.warnedNonAtomicRename) {
      this.warnedNonAtomicRename = true;
      this.log.warn(
        `${this.description} lacks the posix-rename@openssh.com SFTP extension; files are ` +
          'replaced by removing and renaming, which is not atomic',
      );
    }
    await this.request(session, `remove ${to}`, (done) => session.sftp.unlink(to, done)).catch(
      (error: unknown) => {
        if (!hasStatus(error, statusNoSuchFile)) throw error;
      },
    );
    await this.request(session, `rename ${from}`, (done) => session.sftp.rename(from, to, done));
  }

  /** Removes temporary files that writes interrupted by a dropped connection left behind. */
  private async removeStrayTemporaries(session: SftpSession): Promise<void> {
    for (const temporary of [...this.strayTemporaries]) {
      try {
        await this.request(session, `remove ${temporary}`, (done) =>
          session.sftp.unlink(temporary, done),
        );
        this.strayTemporaries.delete(temporary);
      } catch (error) {
        if (error instanceof ConnectionDroppedError) return;
        // The file is gone (its rename went through) or cannot be removed, so it is not tried again.
        this.strayTemporaries.delete(temporary);
      }
    }
  }

  /** Runs an operation that is safe to repeat, again on a new connection after a drop. */
  private async retrying<T>(operation: (session: SftpSession) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const session = await this.connection.session();
      try {
        return await operation(session);
      } catch (error) {
        if (!(error instanceof ConnectionDroppedError)) throw error;
        if (attempt >= maxAttempts) throw this.gaveUp('the shared folder', error);
      }
    }
  }

  /**
   * Sends one SFTP request and waits for its response. A missing response, or an error without
   * an SFTP status, means that the connection dropped, so it raises ConnectionDroppedError and
   * starts the reconnection. An exception thrown before sending is passed on unchanged.
   */
  private request<T = void>(
    session: SftpSession,
    what: string,
    start: (done: (error: SshError | undefined, value: T) => void) => void,
  ): Promise<T> {
    if (!this.connection.isLive(session.generation)) {
      return Promise.reject(new ConnectionDroppedError(`the connection dropped before ${what}`));
    }
    const answer = new Promise<T>((resolve, reject) => {
      let finished = false;
      const finish = (error: Error | undefined, value?: T): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value as T);
      };
      const timer = setTimeout(
        () =>
          finish(
            new ConnectionDroppedError(`no response to ${what} within ${this.requestTimeoutMs} ms`),
          ),
        this.requestTimeoutMs,
      );
      try {
        start((error, value) => finish(error && classify(error), value));
      } catch (error) {
        finish(error as Error);
      }
    });
    return answer.catch((error: unknown) => {
      if (error instanceof ConnectionDroppedError) {
        this.connection.dropped(session.generation, error.message);
      }
      throw error;
    });
  }

  /** Turns an SFTP status error into an Error with a Node.js-style code and a clear message. */
  private fsError(error: unknown, operation: string, file: string): unknown {
    if (error instanceof ConnectionDroppedError || !(error instanceof Error)) return error;
    const code = (error as SshError).code;
    if (typeof code !== 'number') return error;
    const where = `${file} on ${this.description}`;
    if (code === statusNoSuchFile) {
      return Object.assign(new Error(`Cannot ${operation} ${where}: not found`), {
        code: 'ENOENT',
      });
    }
    if (code === statusPermissionDenied) {
      return Object.assign(new Error(`Cannot ${operation} ${where}: permission denied`), {
        code: 'EACCES',
      });
    }
    return new Error(`Cannot ${operation} ${where}: ${error.message}`, { cause: error });
  }

  private gaveUp(what: string, error: Error): RealmFsConnectionError {
    return new RealmFsConnectionError(
      `The SSH connection to ${this.connection.target} dropped ${maxAttempts} times while ` +
        `accessing ${what} (${error.message})`,
      { cause: error },
    );
  }
}

function hasStatus(error: unknown, status: number): boolean {
  return error instanceof Error && (error as SshError).code === status;
}

/** Returns the error itself for an SFTP status, or a ConnectionDroppedError otherwise. */
function classify(error: SshError): Error {
  const code = error.code;
  const isStatus =
    typeof code === 'number' && code !== statusNoConnection && code !== statusConnectionLost;
  return isStatus ? error : new ConnectionDroppedError(error.message);
}
