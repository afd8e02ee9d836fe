// A telnet client for one UART console of the FVP (or of any board that serves its consoles
// over telnet), which keeps reconnecting until it is stopped.

import { once } from 'node:events';
import net from 'node:net';
import { silentLogger, type Logger } from '../log';
import { commandName, optionName } from './codes';
import {
  bufferedOutputChars,
  ConsoleOutput,
  waitFailureError,
  type Disposable,
  type WaitOptions,
} from './output';
import { RotatingLog } from './rotating-log';
import { TelnetSession } from './session';

export { ConsoleTimeoutError, bufferedOutputChars, recentOutputChars } from './output';
export type { Disposable, WaitOptions } from './output';

/**
 * `stopped` is also the state before `start()`. `lost` is the moment an open connection ends;
 * `reconnecting` covers the wait between attempts and the attempts after the first.
 */
export type ConsoleState = 'connecting' | 'connected' | 'lost' | 'reconnecting' | 'stopped';

export interface ConsoleOptions {
  /** The console's name in logs, state details and errors, such as `terminal_0`. */
  name: string;
  host: string;
  /**
   * The TCP port, or a function called before each attempt that returns it, for a port that
   * is only known later (the FVP prints it once it listens). Undefined means not known yet.
   */
  port: number | (() => number | undefined | Promise<number | undefined>);
  /**
   * File that receives every data byte from the server after telnet decoding: IAC sequences
   * removed, IAC IAC as one 0xFF, and outside BINARY mode CR NUL as CR. It contains exactly the
   * bytes that `onData` decodes, across reconnections.
   */
  logFile?: string;
  /** Size at which the log file rotates; default 16 MiB. */
  logMaxBytes?: number;
  /** Rotated log files kept (`file.1` is the newest); default 3. */
  logKeep?: number;
  /** Delay before the first retry, doubled after each failure up to the maximum. */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /** Time allowed for the TCP connection to open; default 10000 ms. */
  connectTimeoutMs?: number;
  /** Window size sent with NAWS; default 80 by 24. */
  columns?: number;
  rows?: number;
  /** Sent for TTYPE; default XTERM-256COLOR. */
  terminalType?: string;
  log?: Logger;
}

const defaultReconnect = { initialDelayMs: 250, maxDelayMs: 5000 };
const readBufferBytes = 64 * 1024;

/**
 * A telnet console that connects on `start()`, replies to the server's option negotiation,
 * delivers the output as UTF-8 text, and reconnects with exponential backoff after a refused
 * connection or a loss, until `stop()`.
 */
export class TelnetConsole {
  private currentState: ConsoleState = 'stopped';
  private running = false;
  // Incremented by stop() and by every attempt, so callbacks of an older attempt do nothing.
  private attempt = 0;
  private socket: net.Socket | undefined;
  private session: TelnetSession | undefined;
  private address: string;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private failures = 0;
  private lastFailure = '';
  private inputDropReported = false;
  private columns: number;
  private rows: number;
  private readonly reconnect: { initialDelayMs: number; maxDelayMs: number };
  private readonly logFile: RotatingLog | undefined;
  private readonly log: Logger;
  private readonly output: ConsoleOutput;
  private readonly stateListeners = new Set<(state: ConsoleState, detail: string) => void>();

  constructor(private readonly options: ConsoleOptions) {
    this.log = options.log ?? silentLogger;
    this.reconnect = options.reconnect ?? defaultReconnect;
    this.retryDelayMs = this.reconnect.initialDelayMs;
    this.columns = options.columns ?? 80;
    this.rows = options.rows ?? 24;
    this.address =
      typeof options.port === 'number'
        ? `${options.host}:${options.port}`
        : `${options.host} (port not known yet)`;
    if (options.logFile !== undefined) {
      const maxBytes = options.logMaxBytes ?? 16 * 1024 * 1024;
      this.logFile = new RotatingLog(options.logFile, maxBytes, options.logKeep ?? 3, this.log);
    }
    this.output = new ConsoleOutput(
      (error) => this.log.error(`${options.name}: a data listener failed: ${describe(error)}`),
      () =>
        this.log.warn(
          `${options.name}: no terminal is reading this console and its buffer of ` +
            `${bufferedOutputChars} characters is full, so its oldest output is dropped`,
        ),
    );
  }

  get state(): ConsoleState {
    return this.currentState;
  }

  /** Connects now and reconnects after every loss until `stop()`. Does nothing if running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    this.lastFailure = '';
    this.retryDelayMs = this.reconnect.initialDelayMs;
    this.setState('connecting', `connecting to ${this.address}`);
    void this.connect();
  }

  /**
   * Closes the connection without waiting for the server, cancels any retry, rejects pending
   * waits, and closes the log file. `start()` may be called again afterwards.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;

    const socket = this.socket;
    this.socket = undefined;
    this.endSession();
    this.output.failWaits('stopped');
    if (socket && !socket.destroyed) {
      const closed = once(socket, 'close');
      socket.destroy();
      await closed;
    }

    await this.logFile?.close();
    this.log.info(`${this.options.name}: stopped (${this.address})`);
    // start() may have been called while the socket closed.
    if (!this.running) this.setState('stopped', 'stopped');
  }

  /** If the console is waiting to retry, retries now, for example once a port became known. */
  reconnectNow(): void {
    if (!this.running || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.connect();
  }

  /**
   * Adds a listener for the console's output as text. Output that arrives while no listener is
   * registered is kept (up to `bufferedOutputChars`, the newest) for the next listener.
   */
  onData(listener: (text: string) => void): Disposable {
    return this.output.onData(listener);
  }

  /** Adds a listener for state changes; it is also called for each retry, with a new detail. */
  onState(listener: (state: ConsoleState, detail: string) => void): Disposable {
    this.stateListeners.add(listener);
    return { dispose: () => this.stateListeners.delete(listener) };
  }

  /**
   * Sends typed text. Text typed while the console is not connected is dropped rather than
   * queued, because after a reconnection it would reach a prompt that the user has not seen.
   */
  write(text: string): void {
    const socket = this.socket;
    if (this.currentState !== 'connected' || !socket || !this.session) {
      // The text itself is never logged: it may be a password.
      if (!this.inputDropReported) {
        this.log.warn(`${this.options.name}: input dropped while ${this.currentState}`);
      }
      this.inputDropReported = true;
      return;
    }
    socket.write(this.session.encodeInput(text));
  }

  /** Sends `line` followed by a carriage return, as the Enter key does. */
  sendLine(line: string): void {
    this.write(`${line}\r`);
  }

  /** Records the window size and sends it with NAWS when the server agreed to NAWS. */
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    const bytes = this.session?.resize(columns, rows);
    if (bytes && bytes.length > 0) this.socket?.write(bytes);
  }

  /**
   * Resolves with the text that matches `pattern` in output received after the call (and in
   * the latest `recentOutputChars` before it with `includeRecent`). Rejects with a
   * ConsoleTimeoutError after `timeoutMs`, with an AbortError when `signal` fires, and with an
   * error when the console stops.
   */
  waitFor(pattern: RegExp | string, timeoutMs: number, options: WaitOptions = {}): Promise<string> {
    return this.output.waitFor(pattern, timeoutMs, options, (reason) =>
      waitFailureError(this.options.name, pattern, timeoutMs, reason, {
        state: this.currentState,
        address: this.address,
        recentText: this.output.recentText(),
      }),
    );
  }

  private async connect(): Promise<void> {
    this.attempt += 1;
    const attempt = this.attempt;
    let port: number | undefined;
    try {
      port = typeof this.options.port === 'number' ? this.options.port : await this.options.port();
    } catch (error) {
      if (attempt === this.attempt) {
        this.retry(`port lookup for ${this.options.name} failed: ${describe(error)}`);
      }
      return;
    }

    // stop() may have come while the port function ran.
    if (attempt !== this.attempt) return;
    if (port === undefined) {
      this.retry(`port of ${this.options.name} not known yet`);
      return;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      this.retry(`invalid port ${port} for ${this.options.name}: expected 1 to 65535`);
      return;
    }
    this.address = `${this.options.host}:${port}`;
    this.open(port);
  }

  private open(port: number): void {
    const name = this.options.name;
    const message = `${name}: connecting to ${this.address}`;
    if (this.failures === 0) {
      this.log.info(message);
    } else {
      this.log.debug(`${message} (attempt ${this.failures + 1})`);
    }

    // One read buffer per connection, reused for every read. This is safe because the bytes of
    // a read are parsed, logged and decoded before the callback returns, and it saves a Buffer
    // per read: about 20% more throughput in bench/console-throughput.mjs.
    const socket: net.Socket = net.connect({
      host: this.options.host,
      port,
      onread: {
        buffer: Buffer.allocUnsafe(readBufferBytes),
        callback: (length: number, buffer: Uint8Array) => {
          this.onChunk(socket, buffer.subarray(0, length));
          return true;
        },
      },
    });
    this.socket = socket;
    let connected = false;
    let lastError: Error | undefined;
    // NOTE: no test runs this timeout, because Node alone cannot make a loopback connect hang.
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      socket.destroy(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);

    socket.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      if (this.socket === socket) this.onConnected(socket);
    });
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (connected) {
        this.onLost(lastError);
      } else {
        this.retry(describeConnectError(this.address, lastError));
      }
    });
  }

  private onConnected(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.session = new TelnetSession(
      {
        onBytes: (bytes) => this.logFile?.append(bytes),
        onText: (text) => this.output.push(text),
        onNegotiation: (command, option, result) => {
          const request = `${commandName(command)} ${optionName(option)}`;
          const reply =
            result.reply === undefined
              ? 'no reply, the option is already in that state'
              : `reply ${commandName(result.reply)} ${optionName(option)}`;
          this.log.debug(`${this.options.name}: server ${request}; ${reply}`);
        },
      },
      {
        columns: this.columns,
        rows: this.rows,
        terminalType: this.options.terminalType,
      },
    );

    const after = this.failures > 0 ? ` after ${this.failures + 1} attempts` : '';
    this.log.info(`${this.options.name}: connected to ${this.address}${after}`);
    this.failures = 0;
    this.lastFailure = '';
    this.inputDropReported = false;
    this.setState('connected', `connected to ${this.address}`);
  }

  private onChunk(socket: net.Socket, chunk: Uint8Array): void {
    const session = this.session;
    if (socket !== this.socket || !session) return;
    // A connection that delivered bytes worked, so the next loss retries quickly again.
    this.retryDelayMs = this.reconnect.initialDelayMs;
    const reply = session.receive(chunk);
    if (reply.length > 0) socket.write(reply);
  }

  private onLost(error: Error | undefined): void {
    this.endSession();
    const detail = error
      ? `connection to ${this.address} lost: ${error.message}`
      : `connection closed by ${this.address}`;
    this.log.warn(`${this.options.name}: ${detail}`);
    this.setState('lost', detail);
    this.retry(detail, false);
  }

  /** Schedules the next attempt after the backoff delay, and logs why. */
  private retry(reason: string, failedAttempt = true): void {
    if (!this.running) return;
    if (failedAttempt) this.failures += 1;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, this.reconnect.maxDelayMs);

    // A console is refused again and again while the FVP starts, so a failure that repeats the
    // last one is logged at debug level.
    const message = `${this.options.name}: ${reason}; retrying in ${delay} ms`;
    if (reason === this.lastFailure) {
      this.log.debug(message);
    } else {
      this.log.info(message);
    }
    this.lastFailure = reason;

    this.setState('reconnecting', `${reason}; retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private endSession(): void {
    const session = this.session;
    this.session = undefined;
    const rest = session?.end();
    if (rest) this.output.push(rest);
  }

  private setState(state: ConsoleState, detail: string): void {
    this.currentState = state;
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state, detail);
      } catch (error) {
        this.log.error(`${this.options.name}: a state listener failed: ${describe(error)}`);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeConnectError(address: string, error: Error | undefined): string {
  if (error && 'code' in error && error.code === 'ECONNREFUSED') {
    return `connection to ${address} refused (ECONNREFUSED)`;
  }
  return `connection to ${address} failed: ${error ? error.message : 'closed before opening'}`;
}
