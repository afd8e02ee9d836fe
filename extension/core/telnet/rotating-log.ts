import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { silentLogger, type Logger } from '../log';

/**
 * An append-only byte log that rotates by size. When `file` reaches `maxBytes`, it becomes
 * `file.1`, the older `file.1` becomes `file.2`, and so on up to `file.<keep>`. Older files are
 * deleted. A rotated file contains exactly `maxBytes` bytes, so one chunk may be split across
 * two files. Reading `file.<keep>` .. `file.1`, then `file`, gives the bytes in order.
 *
 * Writes are synchronous (`fs.writeSync`). Each `append` has handed its bytes to the operating
 * system when it returns, so a process that exits or crashes loses none of them. No queue can
 * grow while a slow disk lags behind a fast console, but each write blocks the event loop.
 */
export class RotatingLog {
  private fd: number | undefined;
  private size = 0;
  private failed = false;

  /**
   * @param maxBytes size at which the file rotates; Infinity never rotates
   * @param keep how many rotated files to keep; 0 truncates the file instead
   */
  constructor(
    readonly file: string,
    readonly maxBytes: number,
    readonly keep: number,
    private readonly log: Logger = silentLogger,
  ) {
    if (!(maxBytes > 0)) throw new RangeError(`invalid maxBytes ${maxBytes}: expected > 0`);
    if (!Number.isInteger(keep) || keep < 0) {
      throw new RangeError(`invalid keep ${keep}: expected an integer >= 0`);
    }
  }

  /** Appends bytes, rotating as often as they need. Errors are logged, not thrown. */
  append(bytes: Uint8Array): void {
    let offset = 0;
    try {
      while (offset < bytes.length) {
        const fd = this.open();
        if (this.size >= this.maxBytes) {
          this.rotate();
          continue;
        }
        const length = Math.min(bytes.length - offset, this.maxBytes - this.size);
        offset += this.writeAll(fd, bytes.subarray(offset, offset + length));
      }
      this.failed = false;
    } catch (error) {
      this.reportFailure(error, bytes.length - offset);
    }
  }

  /** Closes the file; a later `append` opens it again. */
  close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
    return Promise.resolve();
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const fd = openSync(this.file, 'a');
    this.size = fstatSync(fd).size;
    this.fd = fd;
    return fd;
  }

  private writeAll(fd: number, bytes: Uint8Array): number {
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    this.size += written;
    return written;
  }

  private rotate(): void {
    void this.close();
    if (this.keep === 0) {
      rmSync(this.file, { force: true });
      return;
    }

    rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let index = this.keep - 1; index >= 1; index -= 1) {
      const older = `${this.file}.${index}`;
      if (existsSync(older)) renameSync(older, `${this.file}.${index + 1}`);
    }
    renameSync(this.file, `${this.file}.1`);
  }

  // A full disk fails every write, so only the first failure of a run is logged as an error.
  private reportFailure(error: unknown, lostBytes: number): void {
    const message = error instanceof Error ? error.message : String(error);
    const line = `console log ${this.file}: write failed, ${lostBytes} bytes lost: ${message}`;
    if (this.failed) {
      this.log.debug(line);
    } else {
      this.log.error(line);
    }
    this.failed = true;

    // Reopen on the next append, which may succeed once the cause is fixed.
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // The descriptor is unusable either way.
      }
    }
  }
}
