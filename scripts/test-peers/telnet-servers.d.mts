// Types of telnet-servers.mjs for the TypeScript tests that import it.

export const LOGIN_STUB: string;
export const TELNET_BANNER: 'CCA Realm Studio telnet test peer';

export function freePorts(n: number): Promise<number[]>;

export interface TelnetServerOptions {
  /** A free TCP port on 127.0.0.1. */
  port: number;
  /** Absolute path of the executable run for each connection (default LOGIN_STUB). */
  program?: string;
}

export interface TelnetServer {
  readonly pid: number;
  readonly port: number;
  /** What the server printed lately. */
  output(): string;
  stop(): Promise<void>;
}

export function startInetutilsTelnetd(options: TelnetServerOptions): Promise<TelnetServer>;
export function startBusyboxTelnetd(options: TelnetServerOptions): Promise<TelnetServer>;
