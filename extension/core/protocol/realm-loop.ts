import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError } from '../files';
import { decodeBmp } from '../images/bmp';
import { ImageDecodeError } from '../images/types';
import { TfliteClassifier } from '../realm-runtime/classifier';
import { readLabels } from '../realm-runtime/labels';
import type { WasmLogger } from '../realm-runtime/wasm';
import { realmLines } from './output';
import { parseSignalling, writeSignalling, type Signalling } from './signalling';

/** Interval of the safety poll beside file events, because an event can be missed. */
export const SAFETY_POLL_MS = 1000;

export interface RealmLoopOptions {
  modelPath: string;
  labelsPath: string;
  /** Path of the signalling file in the shared folder, inside the realm. */
  signallingFile: string;
  /** Stop after this many images, as the binary's `-N`; without it, run until `signal` aborts. */
  imageCount?: number;
  /** TensorFlow Lite's numThreads; 1 when not given, as the realm binary prints. */
  threads?: number;
  /** Print the XNNPACK line per image, as the binary does with `-x 1`. */
  xnnpack?: boolean;
  /**
   * Poll the signalling file at this interval only, in milliseconds, without file events; 5000
   * is the realm binary's cadence. Without it, file events wake the loop and a poll every
   * SAFETY_POLL_MS catches missed events.
   */
  pollMs?: number;
  /** Receives every line the realm prints (stdout in the emulated realm process). */
  output: NodeJS.WritableStream;
  /** Receives TensorFlow Lite's own log lines; they go to `output` when not given. */
  log?: WasmLogger;
  /** Ends the loop cleanly, with exit code 0, while it waits for a query. */
  signal?: AbortSignal;
}

/**
 * Runs the realm side of the shared-folder protocol as the realm binary does: load the model
 * once, then per image wait for `systemState: query`, classify the image named by `fileName`,
 * print the results and write `systemState: processed`. Returns the process exit code: 0 after
 * `imageCount` images or a stop through `signal`, 1 for a missing image, as the binary exits
 * there. An image that exists but does not decode gets an error line, and the loop goes on.
 * Errors loading the model or labels are thrown.
 */
export async function runRealmLoop(options: RealmLoopOptions): Promise<number> {
  const print = (line: string): Promise<void> => writeLine(options.output, line);
  // TensorFlow Lite prints synchronously from inside WASM, so its lines are written unawaited.
  const log = options.log ?? ((line: string) => void options.output.write(`${line}\n`));
  const classifier = await TfliteClassifier.load(options.modelPath, {
    threads: options.threads,
    log,
  });

  try {
    const labels = await readLabels(options.labelsPath);
    await print(realmLines.loadedModel(options.modelPath));
    await print(realmLines.threads(options.threads ?? 1));
    return await serveImages(options, classifier, labels, print);
  } finally {
    classifier.dispose();
  }
}

async function serveImages(
  options: RealmLoopOptions,
  classifier: TfliteClassifier,
  labels: readonly string[],
  print: (line: string) => Promise<void>,
): Promise<number> {
  const warn = (message: string): void => void options.output.write(`WARNING: ${message}\n`);
  const waiter = new SignallingWaiter(options.signallingFile, options.pollMs, warn);
  await waiter.start();

  try {
    let served = 0;
    while (options.imageCount === undefined || served < options.imageCount) {
      if (options.signal?.aborted) return 0;
      await print(realmLines.checkState());

      const imagePath = await waitForQuery(waiter, options, print);
      if (imagePath === undefined) return 0;
      const ok = await serveImage(imagePath, options, classifier, labels, print);
      if (!ok) return 1;
      served += 1;
    }
    return 0;
  } finally {
    waiter.close();
  }
}

/** Handles one query; returns false when the image is missing and the realm must exit. */
async function serveImage(
  imagePath: string,
  options: RealmLoopOptions,
  classifier: TfliteClassifier,
  labels: readonly string[],
  print: (line: string) => Promise<void>,
): Promise<boolean> {
  await print(realmLines.stateIsQuery(imagePath));
  await print(realmLines.inputName(imagePath));
  if (options.xnnpack) await print(realmLines.appliedXnnpack());

  let bytes: Uint8Array;
  try {
    bytes = await readFile(imagePath);
  } catch {
    // The binary prints this line for any file it cannot open, and exits.
    await print(realmLines.fatalNotFound(imagePath));
    return false;
  }

  try {
    // NOTE: only BMP is decoded, because the realm binary reads nothing else. Unlike the binary,
    // this decodes 8-bit and 32-bit files to their real colours rather than raw bytes.
    const image = decodeBmp(bytes, imagePath);
    const { predictions } = classifier.classify(image, labels);
    for (const prediction of predictions) await print(realmLines.result(prediction));
  } catch (error) {
    if (!(error instanceof ImageDecodeError)) throw error;
    // The decoder's message starts with the file name, which the error line already has.
    const reason = error.message.startsWith(`${imagePath}: `)
      ? error.message.slice(imagePath.length + 2)
      : error.message;
    await print(realmLines.error(imagePath, reason));
  }

  // The result lines are written before this, so the normal world finds them once it reads it.
  await writeSignalling(options.signallingFile, 'processed');
  return true;
}

/**
 * Re-reads the signalling file on every wake until it contains a complete query, printing the
 * binary's waiting lines for each read. Returns the image path, or undefined when `signal`
 * aborts. A query whose file name is empty or missing is not complete yet: a normal-world shell
 * script writes the state and the file name in two separate writes.
 */
async function waitForQuery(
  waiter: SignallingWaiter,
  options: RealmLoopOptions,
  print: (line: string) => Promise<void>,
): Promise<string | undefined> {
  for (;;) {
    if (options.signal?.aborted) return undefined;
    waiter.beginRead();
    const { lineCount, signalling } = await readSignallingLines(options.signallingFile);
    for (let i = 0; i < lineCount; i++) await print(realmLines.waitingForFile());

    if (signalling?.state === 'query' && signalling.fileName) return signalling.fileName;
    await print(realmLines.waitingForQuery());
    await waiter.wait(options.signal);
  }
}

/**
 * Wakes the realm loop when the signalling file may have changed: on a file event for that file,
 * or after the poll interval. Events for other files are ignored, because the realm's own
 * output.txt sits in the same folder and would otherwise wake the loop for each line it prints.
 */
class SignallingWaiter {
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

/** Reads the signalling file and counts its lines as C++ `getline` would return them. */
async function readSignallingLines(
  file: string,
): Promise<{ lineCount: number; signalling: Signalling | undefined }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // Before the normal world's first write there is no file, which the binary treats as idle.
    if (isMissingFileError(error)) return { lineCount: 0, signalling: undefined };
    throw error;
  }
  const lines = text.split('\n');
  const lineCount = text.endsWith('\n') ? lines.length - 1 : lines.length;
  return { lineCount: text === '' ? 0 : lineCount, signalling: parseSignalling(text) };
}

/** Writes one line and resolves once the stream has taken it, so output order is kept. */
function writeLine(stream: NodeJS.WritableStream, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(`${line}\n`, (error) => (error ? reject(error) : resolve()));
  });
}
