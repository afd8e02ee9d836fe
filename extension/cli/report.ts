import path from 'node:path';
import type { ImageResult } from '../core/protocol/client';

/** Formats one image's result for the terminal: a header line, then its top-5 labels. */
export function formatResult(result: ImageResult): string {
  const name = path.basename(result.image);
  if (result.error) return `${name}  FAILED: ${result.error}`;
  const lines = [`${name}  ${result.ms} ms`];
  if (result.top5.length === 0) lines.push('    (no class scored 0.001 or more)');
  for (const [rank, prediction] of result.top5.entries()) {
    const confidence = prediction.confidence.toFixed(4);
    lines.push(`    ${rank + 1}. ${confidence}  ${prediction.label}`);
  }
  return lines.join('\n');
}

/** Formats the batch summary: counts, then mean and median time of the classified images. */
export function formatSummary(results: readonly ImageResult[]): string {
  const times = results.flatMap((r) => (!r.error && r.ms !== null ? [r.ms] : []));
  const failed = results.filter((r) => r.error).length;
  const classified = results.length - failed;
  const parts = [`${plural(results.length, 'image')}, ${classified} classified, ${failed} failed`];
  if (times.length > 0) {
    const mean = times.reduce((sum, ms) => sum + ms, 0) / times.length;
    parts.push(`mean ${Math.round(mean)} ms, median ${Math.round(median(times))} ms per image`);
  }
  return parts.join('; ');
}

/** Formats a count with its noun: `1 image`, `2 images`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** A one-line progress bar redrawn in place on a terminal; silent when the stream is no TTY. */
export class ProgressBar {
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly total: number,
  ) {}

  update(done: number, label: string): void {
    if (!this.stream.isTTY) return;
    const width = 24;
    const filled = Math.round((done / Math.max(this.total, 1)) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const columns = this.stream.columns || 80;
    const line = `[${bar}] ${done}/${this.total} ${label}`.slice(0, columns - 1);
    this.stream.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  /** Erases the bar so that a normal line can be printed. */
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
