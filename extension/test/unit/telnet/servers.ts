// Scripted telnet servers on 127.0.0.1 for the console tests, and helpers to watch a console.

import { once } from 'node:events';
import net from 'node:net';
import type { Logger } from '../../../core/log';
import type { ConsoleState, TelnetConsole } from '../../../core/telnet/console';

/** Collects every byte one connection receives and waits for patterns in them. */
export class ByteReader {
  private received = Buffer.alloc(0);
  private readonly wakers = new Set<() => void>();
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      for (const wake of [...this.wakers]) wake();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const wake of [...this.wakers]) wake();
    });
    socket.on('error', () => undefined);
  }

  /** Every byte received so far. */
  get bytes(): Buffer {
    return this.received;
  }

  /** Resolves once `check` returns true for the bytes received, or rejects after timeoutMs. */
  async until(check: (bytes: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.received)) {
      if (this.closed) throw new Error(`connection closed; received ${this.hex()}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out; received ${this.hex()}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.wakers.add(wake);
      });
    }
    return this.received;
  }

  /** Resolves once at least `count` bytes have arrived. */
  atLeast(count: number, timeoutMs?: number): Promise<Buffer> {
    return this.until((bytes) => bytes.length >= count, timeoutMs);
  }

  private hex(): string {
    return `[${[...this.received].join(' ')}]`;
  }
}

export interface TestServer {
  port: number;
  /** A reader for each connection, in the order they were accepted. */
  readers: ByteReader[];
  /** Resolves with the reader of the next connection that is accepted (or already was). */
  connection(index: number, timeoutMs?: number): Promise<ByteReader>;
  /** Destroys the open connections and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a TCP server on 127.0.0.1 that runs `script` for each connection. `port` 0 takes a
 * free port.
 */
export async function startServer(
  script: (socket: net.Socket, reader: ByteReader, index: number) => unknown,
  port = 0,
): Promise<TestServer> {
  const readers: ByteReader[] = [];
  const sockets = new Set<net.Socket>();
  const accepted = new Set<() => void>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const reader = new ByteReader(socket);
    readers.push(reader);
    for (const wake of [...accepted]) wake();
    void Promise.resolve(script(socket, reader, readers.length - 1)).catch(() => {
      socket.destroy();
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');

  return {
    port: address.port,
    readers,
    async connection(index, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (readers.length <= index) {
        if (Date.now() > deadline) throw new Error(`connection ${index} never came`);
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            accepted.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, 50);
          accepted.add(wake);
        });
      }
      return readers[index];
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Returns a port that was free a moment ago, for a server started later in the test. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Records every state change of a console, and waits for a given state. */
export class StateRecorder {
  readonly states: ConsoleState[] = [];
  readonly details: string[] = [];

  constructor(console: TelnetConsole) {
    console.onState((state, detail) => {
      this.states.push(state);
      this.details.push(detail);
    });
  }

  /** Resolves when the console reaches `state` (at or after the `from`-th recorded change). */
  async reach(state: ConsoleState, timeoutMs = 5000, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.states.slice(from).includes(state)) {
      if (Date.now() > deadline) {
        throw new Error(`state ${state} not reached; states: ${this.states.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Returns a Logger that keeps every message with its level. */
export function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: (message) => lines.push(`debug ${message}`),
    info: (message) => lines.push(`info ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
    error: (message) => lines.push(`error ${message}`),
  };
  return { log, lines };
}

/** Collects a console's text output. */
export function collectText(console: TelnetConsole): { text: () => string } {
  const chunks: string[] = [];
  console.onData((text) => chunks.push(text));
  return { text: () => chunks.join('') };
}

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
