// Distribution of a console's decoded text: to data listeners, to a buffer while no listener is
// registered, to a tail of recent output, and to pending waits for a pattern.

/** A registration that `dispose` removes. */
export interface Disposable {
  dispose(): void;
}

export interface WaitOptions {
  /** Cancels the wait; the promise rejects with an error named AbortError. */
  signal?: AbortSignal;
  /** Also search the recent output tail (up to `recentOutputChars`) received before the call. */
  includeRecent?: boolean;
}

/** Raised when a console's output does not match a pattern in time. */
export class ConsoleTimeoutError extends Error {
  constructor(
    readonly consoleName: string,
    readonly pattern: RegExp | string,
    readonly timeoutMs: number,
    detail: string,
  ) {
    super(
      `${consoleName}: timed out after ${timeoutMs} ms waiting for ${describePattern(pattern)}` +
        ` (${detail})`,
    );
    this.name = 'ConsoleTimeoutError';
  }
}

/** Maximum text kept for the first listener while none is registered, in UTF-16 code units. */
export const bufferedOutputChars = 1024 * 1024;
/** Length of the output tail that `includeRecent` searches, in UTF-16 code units. */
export const recentOutputChars = 64 * 1024;
// A wait searches at most this much of the latest output, so each chunk costs bounded work.
// NOTE: a match longer than 64 Ki characters is never found.
const waitWindowChars = 64 * 1024;

/** The reason a wait ended without a match. */
export type WaitFailure = 'timeout' | 'aborted' | 'stopped';

interface Waiter {
  matcher: (text: string) => string | undefined;
  text: string;
  resolve: (match: string) => void;
  fail: (reason: WaitFailure) => void;
}

/** The console's situation when a wait fails, for the error message. */
export interface WaitContext {
  state: string;
  address: string;
  recentText: string;
}

/** Builds the error for a wait on console `consoleName` that ended without a match. */
export function waitFailureError(
  consoleName: string,
  pattern: RegExp | string,
  timeoutMs: number,
  reason: WaitFailure,
  context: WaitContext,
): Error {
  switch (reason) {
    case 'timeout': {
      // The last line shows what the console printed instead, such as another prompt.
      const lines = context.recentText.replace(/[\r\n]+$/, '').split('\n');
      const lastLine = (lines.pop() ?? '').replace(/\r/g, '');
      const detail =
        `console ${context.state}, ${context.address}; ` +
        `last output line: ${JSON.stringify(lastLine.slice(-120))}`;
      return new ConsoleTimeoutError(consoleName, pattern, timeoutMs, detail);
    }
    case 'aborted': {
      const error = new Error(`${consoleName}: wait for ${describePattern(pattern)} cancelled`);
      error.name = 'AbortError';
      return error;
    }
    case 'stopped':
      return new Error(
        `${consoleName}: console stopped while waiting for ${describePattern(pattern)}`,
      );
  }
}

/** Returns `pattern` as a log-friendly string: `/re/flags` or a quoted literal. */
export function describePattern(pattern: RegExp | string): string {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
}

function createMatcher(pattern: RegExp | string): (text: string) => string | undefined {
  if (typeof pattern === 'string') {
    return (text) => (text.includes(pattern) ? pattern : undefined);
  }
  // Without g and y, exec always searches from the start and keeps no lastIndex state.
  const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (text) => regex.exec(text)?.[0];
}

// Text arrives in pieces as small as one character, for example from a board that sends each
// character as it prints it. Small pieces are joined so that the arrays stay short, because
// removing an array's first element takes time in proportion to its length.
const pieceChars = 4096;

/** Appends text to a list of pieces, joining it to the last piece while that stays small. */
function appendPiece(pieces: string[], text: string): void {
  const last = pieces.length - 1;
  if (last >= 0 && pieces[last].length + text.length <= pieceChars) {
    pieces[last] += text;
  } else {
    pieces.push(text);
  }
}

/** Fans out one console's text in arrival order. */
export class ConsoleOutput {
  private readonly listeners = new Set<(text: string) => void>();
  private readonly waiters = new Set<Waiter>();
  private buffered: string[] = [];
  private bufferedLength = 0;
  private flushScheduled = false;
  private dropping = false;
  private recent: string[] = [];
  private recentLength = 0;

  /**
   * @param reportListenerError called when a data listener throws, so that one faulty listener
   *   stops neither the others nor the connection
   * @param reportDropped called when the buffer for the next listener overflows, once until a
   *   listener takes the buffer
   */
  constructor(
    private readonly reportListenerError: (error: unknown) => void,
    private readonly reportDropped: () => void,
  ) {}

  /**
   * Adds a data listener. Output that arrived while no listener was registered is passed to
   * the listeners in a microtask, before any later output.
   */
  onData(listener: (text: string) => void): Disposable {
    this.listeners.add(listener);
    if (this.bufferedLength > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Delivers decoded text. */
  push(text: string): void {
    this.remember(text);
    if (this.waiters.size > 0) this.feedWaiters(text);
    if (this.listeners.size === 0 || this.flushScheduled) {
      this.buffer(text);
      return;
    }
    for (const listener of this.listeners) this.call(listener, text);
  }

  /** Returns the latest output, up to `recentOutputChars`. */
  recentText(): string {
    const text = this.recent.join('');
    this.recent = [text];
    return text;
  }

  /**
   * Resolves with the first match in the output that arrives after the call, or also in the
   * recent tail with `includeRecent`. `fail` builds the error for a wait that ends unmatched.
   */
  waitFor(
    pattern: RegExp | string,
    timeoutMs: number,
    options: WaitOptions,
    fail: (reason: WaitFailure) => Error,
  ): Promise<string> {
    const matcher = createMatcher(pattern);
    if (options.includeRecent) {
      const match = matcher(this.recentText().slice(-waitWindowChars));
      if (match !== undefined) return Promise.resolve(match);
    }
    if (options.signal?.aborted) return Promise.reject(fail('aborted'));

    return new Promise<string>((resolve, reject) => {
      const signal = options.signal;
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        matcher,
        text: '',
        resolve: (match) => {
          finish();
          resolve(match);
        },
        fail: (reason) => {
          finish();
          reject(fail(reason));
        },
      };
      const onAbort = (): void => waiter.fail('aborted');
      const timer = setTimeout(() => waiter.fail('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Rejects every pending wait, for a console that stops. */
  failWaits(reason: WaitFailure): void {
    for (const waiter of [...this.waiters]) waiter.fail(reason);
  }

  private feedWaiters(text: string): void {
    for (const waiter of [...this.waiters]) {
      waiter.text = (waiter.text + text).slice(-waitWindowChars);
      const match = waiter.matcher(waiter.text);
      if (match !== undefined) waiter.resolve(match);
    }
  }

  private remember(text: string): void {
    appendPiece(this.recent, text);
    this.recentLength += text.length;
    while (this.recentLength - this.recent[0].length >= recentOutputChars) {
      this.recentLength -= this.recent[0].length;
      this.recent.shift();
    }
  }

  private buffer(text: string): void {
    appendPiece(this.buffered, text);
    this.bufferedLength += text.length;
    if (this.bufferedLength <= bufferedOutputChars) return;

    // Keep the newest output, because a terminal opened late should show the latest lines.
    while (this.bufferedLength - this.buffered[0].length >= bufferedOutputChars) {
      this.bufferedLength -= this.buffered[0].length;
      this.buffered.shift();
    }
    const excess = this.bufferedLength - bufferedOutputChars;
    if (excess > 0) {
      this.buffered[0] = this.buffered[0].slice(excess);
      this.bufferedLength -= excess;
    }
    if (!this.dropping) this.reportDropped();
    this.dropping = true;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.listeners.size === 0 || this.bufferedLength === 0) return;
    const text = this.buffered.join('');
    this.buffered = [];
    this.bufferedLength = 0;
    this.dropping = false;
    for (const listener of this.listeners) this.call(listener, text);
  }

  private call(listener: (text: string) => void, text: string): void {
    try {
      listener(text);
    } catch (error) {
      this.reportListenerError(error);
    }
  }
}
