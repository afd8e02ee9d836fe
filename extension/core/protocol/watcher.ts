import type { RealmFs, RealmFsWatch } from './realm-fs';

/** Raised when a wait runs past its deadline. */
export class WaitTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)}`);
    this.name = 'WaitTimeoutError';
  }
}

/** Raised when the caller's AbortSignal fires during a wait. */
export class WaitCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'WaitCancelledError';
  }
}

export interface FolderWatcherOptions {
  /** Interval of the polling fallback, in milliseconds; it runs even when events arrive. */
  pollMs: number;
  /**
   * Whether to subscribe to the file system's events as well, where it has them. 9p shares and
   * SFTP deliver none, so polling alone must be correct; events only cut the latency.
   */
  useFileEvents: boolean;
  /**
   * Names of the entries whose events wake the waits; others are ignored, such as the client's
   * own image copies. Default: every entry.
   */
  wakeOn?: readonly string[];
}

/**
 * Re-runs a check whenever a file in one folder changes, and at least every `pollMs`, until
 * the check returns a value, the deadline passes or the wait is cancelled.
 */
export class FolderWatcher {
  private watcher: RealmFsWatch | undefined;
  private readonly wakers = new Set<() => void>();
  private generation = 0;

  constructor(
    private readonly fs: RealmFs,
    private readonly folder: string,
    private readonly options: FolderWatcherOptions,
  ) {}

  /** Subscribes to file events, if the file system has them; resolves once they are ready. */
  async start(): Promise<void> {
    if (!this.options.useFileEvents || !this.fs.watch || this.watcher) return;
    const names = this.options.wakeOn;
    this.watcher = await this.fs.watch(this.folder, (fileName) => {
      if (names === undefined || fileName === undefined || names.includes(fileName)) this.wake();
    });
  }

  async close(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = undefined;
    this.wake();
    await watcher?.close();
  }

  /** Makes every pending wait re-run its check now (a file event, or a realm that exited). */
  wake(): void {
    this.generation += 1;
    for (const waker of [...this.wakers]) waker();
  }

  /** Runs `check` until it returns a value other than undefined. */
  async waitFor<T>(
    check: () => Promise<T | undefined>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const generationBefore = this.generation;
      const value = await check();
      if (value !== undefined) return value;
      if (signal?.aborted) throw new WaitCancelledError();

      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new WaitTimeoutError(timeoutMs);
      // An event that arrived while the check ran must not be slept through.
      if (this.generation !== generationBefore) continue;
      await this.sleep(Math.min(this.options.pollMs, remaining), signal);
    }
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** Formats a duration for messages: `120 s`, `1.5 s`, `200 ms`. */
export function formatSeconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
