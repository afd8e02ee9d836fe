// Types for the parts of npm `ssh2` 1.17 that the SSH transport uses, written from its README
// and lib/ sources (the package ships no types of its own).
declare module 'ssh2' {
  import type { EventEmitter } from 'node:events';

  /** A key as `utils.parseKey` returns it. */
  export interface ParsedKey {
    type: string;
    comment: string;
    isPrivateKey(): boolean;
    getPublicSSH(): Buffer;
  }

  /** An error from the SSH layer; `level` names the stage that failed. */
  export interface SshError extends Error {
    level?: string;
    code?: string | number;
  }

  export type NextAuth =
    | false
    | { type: 'none'; username: string }
    | { type: 'password'; username: string; password: string }
    | {
        type: 'publickey';
        username: string;
        key: Buffer | string | ParsedKey;
        passphrase?: string;
      };

  export interface ConnectConfig {
    host?: string;
    port?: number;
    username?: string;
    readyTimeout?: number;
    keepaliveInterval?: number;
    keepaliveCountMax?: number;
    algorithms?: { serverHostKey?: string[] };
    hostVerifier?: (key: Buffer, verify: (valid: boolean) => void) => void;
    authHandler?: (
      methodsLeft: string[] | null,
      partialSuccess: boolean | null,
      next: (auth: NextAuth) => void,
    ) => void;
    debug?: (message: string) => void;
  }

  export interface Stats {
    mode: number;
    size: number;
    /** Seconds since the epoch. */
    mtime: number;
    isDirectory(): boolean;
  }

  export interface FileEntry {
    filename: string;
    longname: string;
    attrs: Stats;
  }

  type Callback = (error: SshError | undefined) => void;

  export interface SFTPWrapper extends EventEmitter {
    open(
      path: string,
      flags: string,
      callback: (error: SshError | undefined, handle: Buffer) => void,
    ): void;
    close(handle: Buffer, callback: Callback): void;
    read(
      handle: Buffer,
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: (error: SshError | undefined, bytesRead: number) => void,
    ): void;
    write(
      handle: Buffer,
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: Callback,
    ): void;
    fstat(handle: Buffer, callback: (error: SshError | undefined, stats: Stats) => void): void;
    stat(path: string, callback: (error: SshError | undefined, stats: Stats) => void): void;
    readdir(path: string, callback: (error: SshError | undefined, list: FileEntry[]) => void): void;
    readFile(path: string, callback: (error: SshError | undefined, data: Buffer) => void): void;
    writeFile(
      path: string,
      data: Buffer | string,
      options: { flag?: string; mode?: number },
      callback: Callback,
    ): void;
    unlink(path: string, callback: Callback): void;
    rename(from: string, to: string, callback: Callback): void;
    /** Throws when the server does not announce posix-rename@openssh.com. */
    ext_openssh_rename(from: string, to: string, callback: Callback): void;
    end(): void;
  }

  export class Client extends EventEmitter {
    connect(config: ConnectConfig): this;
    sftp(callback: (error: SshError | undefined, sftp: SFTPWrapper) => void): this;
    end(): this;
    destroy(): this;
  }

  export const utils: {
    parseKey(data: Buffer | string, passphrase?: string): ParsedKey | ParsedKey[] | Error;
  };
}
