import { readFileSync } from 'node:fs';
import { isMissingFileError } from '../files';
import { decodeBmp } from '../images/bmp';
import { ImageDecodeError, type RgbImage } from '../images/types';
import { TfliteClassifier, type Classification } from '../realm-runtime/classifier';
import { readLabels } from '../realm-runtime/labels';
import type { WasmLogger } from '../realm-runtime/wasm';
import { realmLines } from './output';
import { findImageOutsideSharedFolder } from './realm-paths';
import { writeFileAtomicSync } from './atomic';
import { formatSignalling, parseSignalling, type Signalling } from './signalling';
import { SignallingWaiter } from './signalling-waiter';

export { SAFETY_POLL_MS } from './signalling-waiter';

/** The classifier interface of the realm loop: a TfliteClassifier, or a benchmark's stand-in. */
export interface RealmClassifier {
  classify(image: RgbImage, labels: readonly string[]): Classification;
}

/** Durations of the steps of one image in the realm loop, in milliseconds. */
export interface RealmImageTiming {
  /** The image path from the signalling file. */
  image: string;
  /** Printing the query's lines and reading the image file. */
  readMs: number;
  /** Decoding the BMP. */
  decodeMs: number;
  /** Resize, input conversion, `Infer()` and top-5. */
  classifyMs: number;
  /** `Infer()` alone. */
  inferMs: number;
  /** Printing the results and writing `processed`. */
  replyMs: number;
  /** From the read of the signalling file that found the query to `processed` written. */
  totalMs: number;
}

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
  /**
   * A classifier to use instead of loading `modelPath`, such as a stand-in without inference
   * that measures the protocol alone. The caller disposes it.
   */
  classifier?: RealmClassifier;
  /** Receives the step durations of each image once its `processed` is written. */
  onImage?: (timing: RealmImageTiming) => void;
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
  const printer = new LinePrinter(options.output);
  // TensorFlow Lite prints synchronously from inside WASM. Its lines join the pending ones, so
  // that the order of the lines is kept, and are written unawaited.
  const log =
    options.log ??
    ((line: string) => {
      printer.add(line);
      void printer.flush();
    });
  let classifier = options.classifier;
  let loaded: TfliteClassifier | undefined;
  if (classifier === undefined) {
    loaded = await TfliteClassifier.load(options.modelPath, { threads: options.threads, log });
    classifier = loaded;
  }

  try {
    const labels = await readLabels(options.labelsPath);
    printer.add(realmLines.loadedModel(options.modelPath));
    printer.add(realmLines.threads(options.threads ?? 1));
    await printer.flush();
    return await serveImages(options, classifier, labels, printer);
  } finally {
    loaded?.dispose();
  }
}

async function serveImages(
  options: RealmLoopOptions,
  classifier: RealmClassifier,
  labels: readonly string[],
  printer: LinePrinter,
): Promise<number> {
  const warn = (message: string): void => {
    printer.add(`WARNING: ${message}`);
    void printer.flush();
  };
  const waiter = new SignallingWaiter(options.signallingFile, options.pollMs, warn);
  await waiter.start();

  try {
    let served = 0;
    while (options.imageCount === undefined || served < options.imageCount) {
      if (options.signal?.aborted) return 0;
      printer.add(realmLines.checkState());

      const query = await waitForQuery(waiter, options, printer);
      if (query === undefined) {
        await printer.flush();
        return 0;
      }
      const ok = await serveImage(query, options, classifier, labels, printer);
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
  query: { imagePath: string; foundAt: number },
  options: RealmLoopOptions,
  classifier: RealmClassifier,
  labels: readonly string[],
  printer: LinePrinter,
): Promise<boolean> {
  const { imagePath, foundAt } = query;
  printer.add(realmLines.stateIsQuery(imagePath));
  printer.add(realmLines.inputName(imagePath));
  if (options.xnnpack) printer.add(realmLines.appliedXnnpack());
  // Written before the image is read, so that output.txt names the image the realm works on.
  await printer.flush();

  const rejection = findImageOutsideSharedFolder(imagePath, options.signallingFile);
  if (rejection !== undefined) {
    printer.add(realmLines.rejected(imagePath, rejection));
    await printer.flush();
    writeFileAtomicSync(options.signallingFile, formatSignalling('processed'));
    return true;
  }

  let bytes: Uint8Array;
  try {
    // A blocking read, as the realm binary's: this process does nothing else meanwhile.
    bytes = readFileSync(imagePath);
  } catch {
    // The binary prints this line for any file it cannot open, and exits.
    printer.add(realmLines.fatalNotFound(imagePath));
    await printer.flush();
    return false;
  }

  const read = performance.now();
  let decoded = read;
  let classified = read;
  let inferMs = 0;
  try {
    // NOTE: only BMP is decoded, because the realm binary reads nothing else. Unlike the binary,
    // this decodes 8-bit and 32-bit files to their real colours rather than raw bytes.
    const image = decodeBmp(bytes, imagePath);
    decoded = performance.now();
    const classification = classifier.classify(image, labels);
    classified = performance.now();
    inferMs = classification.inferMs;
    for (const prediction of classification.predictions) {
      printer.add(realmLines.result(prediction));
    }
  } catch (error) {
    if (!(error instanceof ImageDecodeError)) throw error;
    // The decoder's message starts with the file name, which the error line already has.
    const reason = error.message.startsWith(`${imagePath}: `)
      ? error.message.slice(imagePath.length + 2)
      : error.message;
    printer.add(realmLines.error(imagePath, reason));
  }

  // The result lines are written before this, so the normal world finds them once it reads it.
  await printer.flush();
  writeFileAtomicSync(options.signallingFile, formatSignalling('processed'));
  const replied = performance.now();
  options.onImage?.({
    image: imagePath,
    readMs: read - foundAt,
    decodeMs: Math.max(0, decoded - read),
    classifyMs: Math.max(0, classified - decoded),
    inferMs,
    replyMs: replied - Math.max(classified, decoded),
    totalMs: replied - foundAt,
  });
  return true;
}

// The most `Waiting for signalling file...` lines printed for one read of the signalling file.
const maxWaitingLinesPerRead = 16;

/**
 * Re-reads the signalling file on every wake until it contains a complete query, printing the
 * binary's waiting lines for each read. Returns the image path with the time it was read, or
 * undefined when `signal` aborts. A query whose file name is empty or missing is not complete
 * yet: a normal-world shell script writes the state and the file name in two separate writes.
 */
async function waitForQuery(
  waiter: SignallingWaiter,
  options: RealmLoopOptions,
  printer: LinePrinter,
): Promise<{ imagePath: string; foundAt: number } | undefined> {
  for (;;) {
    if (options.signal?.aborted) return undefined;
    waiter.beginRead();
    const { lineCount, signalling } = readSignallingLines(options.signallingFile);
    const foundAt = performance.now();
    // NOTE: capped, unlike the binary, so that a huge signalling.txt cannot fill the disk with
    // waiting lines; a valid file has two lines.
    const echoed = Math.min(lineCount, maxWaitingLinesPerRead);
    for (let i = 0; i < echoed; i++) printer.add(realmLines.waitingForFile());

    if (signalling?.state === 'query' && signalling.fileName) {
      return { imagePath: signalling.fileName, foundAt };
    }
    printer.add(realmLines.waitingForQuery());
    await printer.flush();
    await waiter.wait(options.signal);
  }
}

/**
 * Reads the signalling file and counts its lines as C++ `getline` would return them. The read
 * blocks, as the realm binary's does: it is a file of a few dozen bytes.
 */
function readSignallingLines(file: string): {
  lineCount: number;
  signalling: Signalling | undefined;
} {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // Before the normal world's first write there is no file, which the binary treats as idle.
    if (isMissingFileError(error)) return { lineCount: 0, signalling: undefined };
    throw error;
  }
  const lines = text.split('\n');
  const lineCount = text.endsWith('\n') ? lines.length - 1 : lines.length;
  return { lineCount: text === '' ? 0 : lineCount, signalling: parseSignalling(text) };
}

/**
 * Collects printed lines and writes them to the stream in one write per flush. The realm prints
 * up to a dozen lines per image, and each write to output.txt wakes a normal world that waits on
 * file events, so the lines between two protocol steps go out together.
 */
class LinePrinter {
  private pending: string[] = [];

  constructor(private readonly stream: NodeJS.WritableStream) {}

  add(line: string): void {
    this.pending.push(line);
  }

  /** Writes the pending lines and resolves once the stream has taken them. */
  flush(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    return new Promise((resolve, reject) => {
      this.stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}
