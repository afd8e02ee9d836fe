/**
 * The realm's `output.txt`: every line the realm binary prints, stdout and stderr interleaved.
 * This module formats those lines for the emulated realm and parses them for the normal world.
 */

/** One classification result as the realm prints it. */
export interface Prediction {
  /** Class index in the model's output tensor. */
  index: number;
  /** The whole line of the labels file for that index (GuaranTEE's start with `<index>:`). */
  label: string;
  /** Dequantized score in [0, 1]. */
  confidence: number;
}

/**
 * Formats a score as C++'s `std::ostream` does by default (`%g` with 6 significant digits):
 * no trailing zeros, exponent form below 1e-4.
 */
export function formatConfidence(value: number): string {
  if (!Number.isFinite(value)) return String(value).toLowerCase();
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(6)))));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, power] = value.toExponential(5).split('e');
    const trimmed = (mantissa ?? '').replace(/\.?0+$/, '');
    const powerNumber = Number(power);
    const sign = powerNumber < 0 ? '-' : '+';
    return `${trimmed}e${sign}${String(Math.abs(powerNumber)).padStart(2, '0')}`;
  }
  const fixed = value.toFixed(Math.max(0, 5 - exponent));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** Lines the realm binary prints, in the order of one iteration of its loop. */
export const realmLines = {
  loadedModel: (modelPath: string) => `INFO: Loaded model ${modelPath}`,
  // The binary prints no space between the words and the number.
  threads: (count: number) => `INFO: Number of threads${count}`,
  checkState: () => `INFO: checkSystemStateAndGetFilename${'-'.repeat(32)}`,
  waitingForFile: () => 'Waiting for signalling file...',
  waitingForQuery: () => "Waiting for system state to become 'query'...",
  stateIsQuery: (imagePath: string) => `System state is 'query'. Filename: ${imagePath}`,
  inputName: (imagePath: string) => `INFO: settings->input_bmp_name: ${imagePath}`,
  appliedXnnpack: () => 'INFO: Applied XNNPACK delegate.',
  result: (p: Prediction) => `INFO: ${formatConfidence(p.confidence)}: ${p.index} ${p.label}`,
  fatalNotFound: (imagePath: string) => `FATAL: input file ${imagePath} not found`,
  // Not printed by the realm binary: the emulated realm reports an undecodable image and goes on.
  error: (imagePath: string, reason: string) =>
    `ERROR: input file ${imagePath} could not be decoded: ${reason}`,
  // Not printed by the realm binary: the emulated realm reads only images in its shared folder.
  rejected: (imagePath: string, reason: string) =>
    `ERROR: input file ${imagePath} rejected: ${reason}`,
};

/** Meaning of one output.txt line for the normal world. */
export type OutputEvent =
  | { kind: 'cycle' }
  | { kind: 'query'; path: string }
  | { kind: 'input'; path: string }
  | { kind: 'result'; prediction: Prediction }
  | { kind: 'fatal'; message: string }
  | { kind: 'error'; message: string; path?: string }
  | { kind: 'other' };

// The `s` flag lets `.` match U+2028 and U+2029 too, which a label or a path may contain.
const resultPattern = /^INFO: (\d+(?:\.\d*)?(?:[eE][-+]?\d+)?): (\d+)(?: (.*))?$/s;
const inputPrefix = 'INFO: settings->input_bmp_name: ';
const queryPrefix = "System state is 'query'. Filename: ";
const decodeErrorPattern = /^ERROR: input file (.*) could not be decoded: (.*)$/s;

/** Classifies one line (without its line end); lines it does not know become `other`. */
export function parseOutputLine(rawLine: string): OutputEvent {
  const line = rawLine.replace(/\r$/, '');
  if (line.startsWith(inputPrefix)) return { kind: 'input', path: line.slice(inputPrefix.length) };
  if (line.startsWith(queryPrefix)) return { kind: 'query', path: line.slice(queryPrefix.length) };
  if (line.startsWith('INFO: checkSystemStateAndGetFilename')) return { kind: 'cycle' };
  if (line.startsWith('FATAL:')) return { kind: 'fatal', message: line.slice(6).trim() };

  const decodeError = decodeErrorPattern.exec(line);
  if (decodeError) {
    return { kind: 'error', message: line.slice(6).trim(), path: decodeError[1] ?? '' };
  }
  if (line.startsWith('ERROR:')) return { kind: 'error', message: line.slice(6).trim() };

  const result = resultPattern.exec(line);
  if (result) {
    const confidence = Number(result[1]);
    const index = Number(result[2]);
    if (Number.isFinite(confidence) && Number.isSafeInteger(index)) {
      return { kind: 'result', prediction: { confidence, index, label: result[3] ?? '' } };
    }
  }
  return { kind: 'other' };
}

/** The realm's output for one image. */
export interface ImageOutput {
  /** The image path as printed by the realm. */
  path: string;
  predictions: Prediction[];
  /** An error the realm printed for this image (an `ERROR:` line after its name line). */
  error?: string;
}

/**
 * Collects output.txt text as it grows and groups it per image: result lines belong to the last
 * `settings->input_bmp_name:` line before them, until the next loop iteration starts. Partial
 * lines wait for the rest of their text; unknown lines are ignored.
 */
export class OutputCollector {
  private pending = '';
  private current: ImageOutput | undefined;
  private readonly images: ImageOutput[] = [];
  private readonly fatals: string[] = [];

  /** Feeds newly appended text. */
  push(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.consume(parseOutputLine(line));
  }

  /** Returns the last output seen for an image path, if its name line has been printed. */
  find(imagePath: string): ImageOutput | undefined {
    for (let i = this.images.length - 1; i >= 0; i -= 1) {
      const image = this.images[i];
      if (image?.path === imagePath) return image;
    }
    return undefined;
  }

  /** `FATAL:` messages seen so far, in order. */
  get fatalMessages(): readonly string[] {
    return this.fatals;
  }

  private consume(event: OutputEvent): void {
    switch (event.kind) {
      case 'input':
        this.current = { path: event.path, predictions: [] };
        this.images.push(this.current);
        break;
      case 'result':
        this.current?.predictions.push(event.prediction);
        break;
      case 'error':
        if (this.current && (event.path === undefined || event.path === this.current.path)) {
          this.current.error = event.message;
        } else if (event.path !== undefined) {
          this.current = { path: event.path, predictions: [], error: event.message };
          this.images.push(this.current);
        }
        break;
      case 'fatal':
        this.fatals.push(event.message);
        break;
      case 'cycle':
      case 'query':
        this.current = undefined;
        break;
      case 'other':
        break;
    }
  }
}
