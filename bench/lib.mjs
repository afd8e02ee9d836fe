// Helpers shared by the benchmark scripts: paths, the test data, statistics, the machine's
// description and memory readings. The scripts load the compiled modules in out/ (npm run bench
// compiles them first) and the bundles in dist/.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

/** Loads a compiled module of the extension: `load('core/protocol/client.js')`. */
export function load(modulePath) {
  return require(path.join(root, 'out', modulePath));
}

/** The test data folder: CCA_DATA_DIR, else shared/data beside the clone. */
export function dataDir() {
  return path.resolve(process.env.CCA_DATA_DIR ?? path.join(root, '..', 'shared', 'data'));
}

/** The ten 224x224 GuaranTEE sample images: image.bmp, image1.bmp .. image9.bmp. */
export function sampleImages() {
  const names = ['image.bmp', ...Array.from({ length: 9 }, (_, i) => `image${i + 1}.bmp`)];
  return names.map((name) => path.join(dataDir(), 'images', name));
}

/** Every .tflite file in the data folder's models/, sorted by name. */
export function modelFiles() {
  const folder = path.join(dataDir(), 'models');
  return readdirSync(folder)
    .filter((name) => name.endsWith('.tflite'))
    .sort()
    .map((name) => path.join(folder, name));
}

export function labelsFile() {
  return path.join(dataDir(), 'labels', 'labels.txt');
}

/** Reads a positive whole number from the environment, or returns `fallback`. */
export function envNumber(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new Error(`${name}=${value} is invalid: expected a positive number`);
  }
  return number;
}

/** Median, 10th and 90th percentiles, minimum and maximum of a list of numbers. */
export function summarise(values) {
  if (values.length === 0) return { n: 0, median: NaN, p10: NaN, p90: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => {
    // Linear interpolation between the two nearest ranks.
    const position = q * (sorted.length - 1);
    const lower = Math.floor(position);
    const upper = Math.min(lower + 1, sorted.length - 1);
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
  };
  return {
    n: sorted.length,
    median: at(0.5),
    p10: at(0.1),
    p90: at(0.9),
    min: sorted[0],
    max: sorted.at(-1),
  };
}

/** Formats a summary of milliseconds: `12.3 ms (p10 11.9, p90 13.0, n=50)`. */
export function formatMs(summary, digits = 2) {
  const { median, p10, p90, n } = summary;
  return `${median.toFixed(digits)} ms (p10 ${p10.toFixed(digits)}, p90 ${p90.toFixed(digits)}, n=${n})`;
}

/** One line that names the machine, for the top of each script's output. */
export function describeMachine() {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return (
    `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, ` +
    `Node ${process.version}; load average at start ${load}`
  );
}

/**
 * Returns a process's resident set size in KiB, now (`VmRSS`) or at its peak (`VmHWM`), from
 * /proc. getrusage's maxRSS is not used because it keeps the parent's peak across fork and exec.
 */
export function memoryKb(pid = 'self', field = 'VmRSS') {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match) return Number(match[1]);
  } catch {
    // Not Linux, or the process has ended.
  }
  return NaN;
}

/** Prints rows as a table with aligned columns; the first row is the header. */
export function printTable(rows) {
  const widths = rows[0].map((_, column) =>
    Math.max(...rows.map((row) => String(row[column]).length)),
  );
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, column) => String(cell).padEnd(widths[column])).join('  '));
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  }
}
