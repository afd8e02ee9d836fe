import { readFile } from 'node:fs/promises';
import { prepareRealmInput } from '../images';
import { silentLogger, type Logger } from '../log';
import { FolderLock } from './lock';
import { OutputCollector, type ImageOutput, type Prediction } from './output';
import {
  LocalRealmFs,
  RealmFsConnectionError,
  RealmFsInterruptedError,
  retryInterrupted,
  type RealmFs,
} from './realm-fs';
import {
  fileSize,
  findLeftoverCopies,
  newBatchId,
  placeImageCopy,
  readAppended,
  removeImageCopy,
} from './shared-folder';
import { readSignalling, writeSignalling, type Signalling, type SystemState } from './signalling';
import { FolderWatcher, WaitCancelledError, WaitTimeoutError, formatSeconds } from './watcher';

export const signallingFileName = 'signalling.txt';
export const outputFileName = 'output.txt';
export const lockFileName = '.cca-client.lock';

/** Result of one image, as saved to the results file. */
export interface ImageResult {
  /** The image path as the user gave it. */
  image: string;
  top5: Prediction[];
  /** Time from writing the query to reading the result, in milliseconds; null on failure. */
  ms: number | null;
  error: string | null;
}

export interface ClientOptions {
  /** The shared folder's path on the client's side, in the file system of `fs`. */
  sharedDir: string;
  /**
   * The file system of the shared folder (SFTP, for example). Default: this machine's, with
   * file events unless `useFileEvents` is false.
   */
  fs?: RealmFs;
  /** How long one image may take from query to result, in milliseconds. */
  timeoutMs?: number;
  /** Polling interval in milliseconds; polling runs even with file events. */
  pollMs?: number;
  /** Subscribe to file events as well as polling, where `fs` has them (9p and SFTP do not). */
  useFileEvents?: boolean;
  /** Maps a path in the shared folder to the same file's path inside the realm. */
  toRealmPath?: (localPath: string) => string;
  /** Returns a message once the realm is known to have stopped (for example its process exited). */
  realmStatus?: () => string | undefined;
  log?: Logger;
}

export interface BatchOptions {
  signal?: AbortSignal;
  /** Called before an image is sent. */
  onStart?: (image: string, position: number) => void;
  /** Called with each result; the image copy is removed only after this resolves. */
  onResult?: (result: ImageResult, position: number) => void | Promise<void>;
}

/** An image copy placed in the shared folder, or why it could not be. */
interface PreparedImage {
  copy?: string;
  error?: unknown;
}

/** Raised for a failure that ends the batch: the realm stopped or timed out. */
class BatchStoppedError extends Error {}

// After the realm writes `processed`, how long its result lines may take to appear in
// output.txt before the query is considered lost and written again.
const resultGraceMs = 1500;
const maxQueryResends = 2;

/**
 * The normal-world side of the shared-folder protocol: sends images one at a time through
 * signalling.txt and reads each result from the part of output.txt the realm printed for it.
 */
export class RealmClient {
  private readonly fs: RealmFs;
  private readonly sharedDir: string;
  private readonly signallingFile: string;
  private readonly outputFile: string;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly watcher: FolderWatcher;
  private lock: FolderLock | undefined;
  /** Where the last image's reading of output.txt stopped, within the current batch. */
  private outputOffset: number | undefined;

  constructor(private readonly options: ClientOptions) {
    this.fs = options.fs ?? new LocalRealmFs({ fileEvents: options.useFileEvents ?? true });
    if (!(this.fs instanceof LocalRealmFs) && !this.fs.path.isAbsolute(options.sharedDir)) {
      throw new Error(
        `The shared folder on ${this.fs.description} must be an absolute path, not ${options.sharedDir}`,
      );
    }
    this.sharedDir = this.fs.path.resolve(options.sharedDir);
    this.signallingFile = this.fs.path.join(this.sharedDir, signallingFileName);
    this.outputFile = this.fs.path.join(this.sharedDir, outputFileName);
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.log = options.log ?? silentLogger;
    this.watcher = new FolderWatcher(this.fs, this.sharedDir, {
      pollMs: options.pollMs ?? 200,
      useFileEvents: options.useFileEvents ?? true,
      // Events of the client's own image copies would only wake it for nothing.
      wakeOn: [signallingFileName, outputFileName],
    });
  }

  /** Re-checks the shared folder now, for example when the realm process exits. */
  wake(): void {
    this.watcher.wake();
  }

  /**
   * Classifies images in order. Returns a result per image; a failure is recorded in that
   * image's `error`. After a timeout, a stopped realm or a cancel, the images not yet sent
   * get an error saying so, and the finished results are kept.
   */
  async classify(images: readonly string[], batch: BatchOptions = {}): Promise<ImageResult[]> {
    const ownsLock = this.lock === undefined;
    await this.open();
    const results: ImageResult[] = [];
    let upcoming: Promise<PreparedImage> | undefined;
    try {
      await this.watcher.start();
      await this.prepareFolder(batch.signal);
      const batchId = newBatchId();
      this.outputOffset = undefined;
      let stopReason: string | undefined;

      for (const [position, image] of images.entries()) {
        // The copy of this image was usually placed while the realm worked on the last one.
        const prepared = upcoming;
        upcoming = undefined;
        let result: ImageResult;
        if (stopReason) {
          await this.discard(prepared);
          result = { image, top5: [], ms: null, error: `not sent: ${stopReason}` };
        } else {
          const prepareNext = (): void => {
            const next = images[position + 1];
            if (next !== undefined) upcoming = this.prepareImage(next, batchId, position + 1);
          };
          result = await this.classifyOne(
            image,
            position,
            prepared ?? this.prepareImage(image, batchId, position),
            batch,
            prepareNext,
          ).catch((error: unknown) => {
            stopReason = describeStop(error, image, this.fs);
            return { image, top5: [], ms: null, error: errorMessage(error) };
          });
        }
        results.push(result);
        if (result.error) this.log.error(`${image}: ${result.error}`);
        else this.log.info(`${image}: ${describeTop(result)} in ${result.ms} ms`);
        await batch.onResult?.(result, position);
      }
      await this.writeState('finished').catch((error: unknown) => {
        // The results are in; a folder that became unreachable only misses the final state.
        if (!(error instanceof RealmFsConnectionError)) throw error;
        this.log.warn(`Writing the finished state failed: ${errorMessage(error)}`);
      });
      return results;
    } finally {
      await this.discard(upcoming);
      await this.watcher.close();
      if (ownsLock) await this.close();
    }
  }

  /**
   * Takes the shared folder's lock before anything else touches the folder, such as a realm
   * process the caller starts. A batch run without it takes and releases the lock itself.
   */
  async open(): Promise<void> {
    if (this.lock) return;
    this.lock = await FolderLock.acquire(
      this.fs.path.join(this.sharedDir, lockFileName),
      (old, why) =>
        this.log.warn(
          `Taking over the shared-folder lock of process ${old?.pid ?? 'unknown'}: ${why}`,
        ),
      this.fs,
    );
  }

  /** Releases the lock taken by `open`. */
  async close(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  /** Initialises the signalling file and removes copies that earlier batches left behind. */
  private async prepareFolder(signal?: AbortSignal): Promise<void> {
    let current = await readSignalling(this.signallingFile, this.fs);
    if (current?.state === 'query') {
      this.log.warn(
        `The realm still has a query for ${current.fileName ?? '(no file name)'}; waiting for it`,
      );
      current = await this.waitForIdle(signal);
    }
    if (current?.state !== 'processed' && current?.state !== 'finished') {
      if (current) this.log.warn(`Resetting ${this.signallingFile}: ${describeBadState(current)}`);
      await this.writeState('processed');
    }
    for (const leftover of await findLeftoverCopies(this.sharedDir, this.fs)) {
      this.log.info(`Removing ${leftover}, left by an earlier batch`);
      await removeImageCopy(leftover, this.fs);
    }
  }

  /** Writes an idle state; writing it twice is harmless, so a dropped connection retries it. */
  private writeState(state: Exclude<SystemState, 'query'>): Promise<void> {
    return retryInterrupted(() => writeSignalling(this.signallingFile, state, '', this.fs));
  }

  /**
   * Writes the query for an image. When the connection drops during the write, the query is
   * not written again here, because the realm may have taken it already. The caller's next
   * check re-reads signalling.txt and output.txt and sends the query again only if it was lost.
   */
  private async writeQuery(realmPath: string): Promise<void> {
    try {
      await writeSignalling(this.signallingFile, 'query', realmPath, this.fs);
    } catch (error) {
      if (!(error instanceof RealmFsInterruptedError)) throw error;
      this.log.warn(
        `The connection to ${this.fs.description} dropped while writing the query for ` +
          `${realmPath}; checking ${this.signallingFile} before sending it again`,
      );
    }
  }

  private async waitForIdle(signal?: AbortSignal) {
    try {
      return await this.watcher.waitFor(
        async () => {
          const state = await readSignalling(this.signallingFile, this.fs);
          return state?.state === 'query' ? undefined : state;
        },
        this.timeoutMs,
        signal,
      );
    } catch (error) {
      if (error instanceof WaitTimeoutError) {
        throw new Error(
          `The realm did not finish the query left in ${this.signallingFile} within ` +
            `${formatSeconds(this.timeoutMs)}. Check that the realm service runs, then retry.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Reads an image, converts it when the realm could not read it, and places its copy in the
   * shared folder. A failure is returned, not thrown, because the copy is prepared while the
   * realm still works on the image before it; the failure belongs to this image's turn.
   */
  private prepareImage(image: string, batchId: string, position: number): Promise<PreparedImage> {
    const prepare = async (): Promise<PreparedImage> => {
      const input = prepareRealmInput(await readFile(image), image);
      if (input.converted) this.log.debug(`${image}: converted to 24-bit BMP (${input.reason})`);
      const copy = await placeImageCopy(
        this.sharedDir,
        batchId,
        position,
        image,
        input.bytes,
        this.fs,
      );
      return { copy };
    };
    return prepare().catch((error: unknown) => ({ error }));
  }

  /** Removes the copy of an image that was prepared but will not be sent. */
  private async discard(prepared: Promise<PreparedImage> | undefined): Promise<void> {
    const copy = prepared === undefined ? undefined : (await prepared).copy;
    if (copy === undefined) return;
    await removeImageCopy(copy, this.fs).catch((error: unknown) => {
      this.log.warn(`Removing the unsent copy ${copy} failed: ${errorMessage(error)}`);
    });
  }

  private async classifyOne(
    image: string,
    position: number,
    preparation: Promise<PreparedImage>,
    batch: BatchOptions,
    prepareNext: () => void,
  ): Promise<ImageResult> {
    const prepared = await preparation;
    if (prepared.copy === undefined) throw prepared.error;
    const copy = prepared.copy;
    if (batch.signal?.aborted) {
      await removeImageCopy(copy, this.fs);
      throw new WaitCancelledError();
    }

    batch.onStart?.(image, position);
    const realmPath = (this.options.toRealmPath ?? ((p: string) => p))(copy);
    let finished = false;
    try {
      const started = performance.now();
      const output = await this.exchange(realmPath, batch.signal, prepareNext);
      const ms = Math.round(performance.now() - started);
      finished = true;
      return { image, top5: output.predictions.slice(0, 5), ms, error: output.error ?? null };
    } finally {
      // A copy the realm may still open stays until a later batch removes it: deleting it now
      // would make the realm binary stop with `FATAL: input file ... not found`.
      if (finished || this.options.realmStatus?.() !== undefined) {
        await removeImageCopy(copy, this.fs);
      }
    }
  }

  /**
   * Writes the query for one image, calls `afterQuery` so that the next image is prepared while
   * the realm works, and waits for this image's output.
   */
  private async exchange(
    realmPath: string,
    signal: AbortSignal | undefined,
    afterQuery: () => void,
  ): Promise<ImageOutput> {
    // Output.txt is read from where the last image's reading stopped: the lines in between are
    // the realm's waiting lines, which name no image.
    let offset = this.outputOffset ?? (await fileSize(this.outputFile, this.fs));
    this.outputOffset = undefined;
    let collector = new OutputCollector();
    let processedSince: number | undefined;
    let resends = 0;
    await this.writeQuery(realmPath);
    afterQuery();

    const check = async (): Promise<ImageOutput | undefined> => {
      // Order matters. The realm prints its result lines before it writes `processed`, and a
      // realm prints FATAL before it exits: reading the state and exit status first, then the
      // output, guarantees the output is complete for what they report.
      const stopped = this.options.realmStatus?.();
      const state = await readSignalling(this.signallingFile, this.fs);
      const appended = await readAppended(this.outputFile, offset, this.fs);
      if (appended.truncated) {
        this.log.warn(`${this.outputFile} was truncated; reading it from the start`);
        collector = new OutputCollector();
      }
      offset = appended.nextOffset;
      collector.push(appended.text);
      const fatal = collector.fatalMessages[0];
      if (fatal) throw new BatchStoppedError(`the realm stopped with FATAL: ${fatal}`);
      if (stopped) throw new BatchStoppedError(stopped);

      if (state?.state !== 'processed') return undefined;
      const output = collector.find(realmPath);
      processedSince ??= Date.now();
      const waited = Date.now() - processedSince;
      if (output && (output.predictions.length > 0 || output.error || waited > resultGraceMs)) {
        this.outputOffset = offset;
        return output;
      }
      if (!output && waited > resultGraceMs) {
        if (resends >= maxQueryResends) {
          throw new BatchStoppedError(
            'the realm reported processed but printed nothing for this image',
          );
        }
        // Another writer replaced the query before the realm read it; send it again.
        resends += 1;
        processedSince = undefined;
        this.log.warn(`Query for ${realmPath} was lost; sending it again (${resends})`);
        await this.writeQuery(realmPath);
      }
      return undefined;
    };

    try {
      return await this.watcher.waitFor(check, this.timeoutMs, signal);
    } catch (error) {
      // Withdraw a query the realm has not read yet, so that it does not run after we left.
      if (!(error instanceof BatchStoppedError || error instanceof RealmFsConnectionError)) {
        await this.writeState('finished').catch(() => undefined);
      }
      if (error instanceof WaitTimeoutError) {
        throw new BatchStoppedError(
          `timed out after ${formatSeconds(this.timeoutMs)} without a result from the realm ` +
            `for ${realmPath} (check that the realm service runs and reads ${this.signallingFile})`,
        );
      }
      throw error;
    }
  }
}

function describeStop(error: unknown, image: string, fs: RealmFs): string | undefined {
  if (error instanceof WaitCancelledError) return 'the batch was cancelled';
  if (error instanceof BatchStoppedError) return `the realm stopped responding at ${image}`;
  if (error instanceof RealmFsConnectionError) {
    return `the connection to ${fs.description} failed at ${image}`;
  }
  return undefined;
}

function describeBadState(current: Signalling): string {
  return current.rawState === undefined
    ? 'it has no systemState line'
    : `its state ${JSON.stringify(current.rawState)} is not processed, query or finished`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeTop(result: ImageResult): string {
  const best = result.top5[0];
  return best ? `${best.label} (${best.confidence})` : 'no class above 0.001';
}
