import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** Interval of the safety poll beside file events, because an event can be missed. */
export const SAFETY_POLL_MS = 1000;

/**
 * Wakes the realm loop when the signalling file may have changed: on a file event for that file,
 * or after the poll interval. Events for other files are ignored, because the realm's own
 * output.txt sits in the same folder and would otherwise wake the loop for each line it prints.
 */
export class SignallingWaiter {
  private readonly file: string;
  private watcher: FSWatcher | undefined;
  private changed = false;
  private wake: (() => void) | undefined;
  private warned = false;

  /** Polls every `pollMs` without events, or every SAFETY_POLL_MS with events. */
  constructor(
    file: string,
    private readonly pollMs: number | undefined,
    private readonly warn: (message: string) => void,
  ) {
    this.file = path.resolve(file);
  }

  /** Subscribes to file events of the signalling file's folder, unless polling only. */
  async start(): Promise<void> {
    const folder = path.dirname(this.file);
    const folderStats = await stat(folder).catch(() => undefined);
    if (!folderStats?.isDirectory()) {
      throw new Error(
        `Shared folder ${folder} of the signalling file not found; create it or fix the -S path`,
      );
    }
    if (this.pollMs !== undefined) return;
    // Node's fs.watch rather than chokidar: chokidar drops further `change` events of a file for
    // 50 ms after one, and the next query often arrives within 50 ms of our own `processed`.
    const name = path.basename(this.file);
    const watcher = watch(folder, { persistent: false }, (_event, changed) => {
      if (changed === null || changed.toString() === name) this.notify();
    });
    // The poll keeps the loop going without events, so a watcher error is reported once, not
    // fatal.
    watcher.on('error', (error) => {
      if (this.warned) return;
      this.warned = true;
      this.warn(
        `file events for ${folder} failed (${error.message}); polling every ${SAFETY_POLL_MS} ms`,
      );
    });
    this.watcher = watcher;
  }

  /** Marks the start of a read: only an event after this point ends the next wait early. */
  beginRead(): void {
    this.changed = false;
  }

  private notify(): void {
    this.changed = true;
    this.wake?.();
  }

  /** Resolves on the next event, after the poll interval, or when `signal` aborts. */
  wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.changed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs ?? SAFETY_POLL_MS);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.wake?.();
    this.watcher?.close();
    this.watcher = undefined;
  }
}
