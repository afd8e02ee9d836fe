import { readFile } from 'node:fs/promises';
import type { RgbImage } from '../images/types';
import type { Prediction } from '../protocol/output';
import {
  fillModelInput,
  type InputType,
  type ModelInputArray,
  type ResizeArithmetic,
} from './resize';
import {
  loadTfliteWasm,
  type TfliteModelRunner,
  type TfliteTensorInfo,
  type TfliteWasmModule,
  type WasmLogger,
} from './wasm';

export type { Prediction } from '../protocol/output';

/** Number of results label_image prints per image. */
export const TOP_COUNT = 5;

/** label_image's default threshold, a float32 constant: lower scores are never printed. */
export const SCORE_THRESHOLD = Math.fround(0.001);

export interface ClassifierOptions {
  /** Passed to TensorFlow Lite as numThreads; 1 when not given, as the realm binary prints. */
  threads?: number;
  /** Receives TensorFlow Lite's own log lines. */
  log?: WasmLogger;
  /**
   * Arithmetic of the input resize; `exact` when not given. Both give the same input when the
   * image already has the model's size, and differ slightly at some scales (see ResizeArithmetic).
   */
  resizeArithmetic?: ResizeArithmetic;
}

export interface Classification {
  /** At most five results, highest score first. */
  predictions: Prediction[];
  /** Duration of the `Infer()` call alone, in milliseconds. */
  inferMs: number;
}

/** Sizes and types read from a model's tensors when it is loaded. */
interface ModelLayout {
  inputWidth: number;
  inputHeight: number;
  inputType: InputType;
  outputType: InputType;
}

/**
 * Classifies images with a .tflite model in the same way as the realm's `realm_inference`
 * (TensorFlow Lite's label_image): bilinear resize to the input size, the input conversion of the
 * model's type, and the top five dequantized scores.
 */
export class TfliteClassifier {
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly inputType: InputType;
  /** Type of the output scores, which decides how they are dequantized. */
  readonly outputType: InputType;
  readonly resizeArithmetic: ResizeArithmetic;
  private disposed = false;

  private constructor(
    readonly modelPath: string,
    private readonly wasm: TfliteWasmModule,
    private readonly runner: TfliteModelRunner,
    // TensorFlow Lite reads the model from this buffer for as long as the runner lives.
    private readonly modelPointer: number,
    layout: ModelLayout,
    resizeArithmetic: ResizeArithmetic,
  ) {
    this.resizeArithmetic = resizeArithmetic;
    this.inputWidth = layout.inputWidth;
    this.inputHeight = layout.inputHeight;
    this.inputType = layout.inputType;
    this.outputType = layout.outputType;
  }

  /** Reads a model file and creates a TensorFlow Lite runner for it. */
  static async load(modelPath: string, options: ClassifierOptions = {}): Promise<TfliteClassifier> {
    const bytes = await readModelFile(modelPath);
    const wasm = await loadTfliteWasm(options.log);
    const pointer = wasm._malloc(bytes.length);
    if (pointer === 0) {
      throw new Error(
        `Model file ${modelPath} (${bytes.length} bytes) does not fit in WASM memory`,
      );
    }
    wasm.HEAPU8.set(bytes, pointer);

    // NOTE: the SIMD build without threads runs on one thread for any numThreads value. The
    // value is passed on so that a threaded build would use it.
    const status = wasm.TFLiteWebModelRunner.CreateFromBufferAndOptions(pointer, bytes.length, {
      numThreads: options.threads ?? 1,
      enableProfiling: false,
      maxProfilingBufferEntries: 1024,
    });
    const runner = status.ok() ? status.value() : null;
    const reason = status.ok() ? 'no runner was returned' : status.errorMessage();
    status.delete();
    if (runner === null) {
      wasm._free(pointer);
      throw new Error(`TensorFlow Lite rejected model file ${modelPath}: ${reason}`);
    }

    try {
      const layout = readLayout(runner, modelPath);
      const arithmetic = options.resizeArithmetic ?? 'exact';
      return new TfliteClassifier(modelPath, wasm, runner, pointer, layout, arithmetic);
    } catch (error) {
      runner.delete();
      wasm._free(pointer);
      throw error;
    }
  }

  /** Runs the model on one image; `labels[i]` names class i, a missing line gives ''. */
  classify(image: RgbImage, labels: readonly string[]): Classification {
    if (this.disposed) throw new Error(`Classifier for ${this.modelPath} was disposed`);

    // Views into WASM memory go stale when memory grows, so each is taken right before use.
    withTensor(this.runner.GetInputs(), (input) => {
      const target = input.data() as ModelInputArray;
      const { inputWidth, inputHeight, inputType, resizeArithmetic } = this;
      fillModelInput(image, inputWidth, inputHeight, inputType, target, resizeArithmetic);
    });

    const started = performance.now();
    const succeeded = this.runner.Infer();
    const inferMs = performance.now() - started;
    if (!succeeded) throw new Error(`TensorFlow Lite failed to run model ${this.modelPath}`);

    const predictions = withTensor(this.runner.GetOutputs(), (output) =>
      topPredictions(output.data(), this.outputType, labels),
    );
    return { predictions, inferMs };
  }

  /** Frees the runner and the model buffer in WASM memory; the classifier is unusable after. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runner.delete();
    this.wasm._free(this.modelPointer);
  }
}

/**
 * Picks the results label_image prints. Scores are dequantized (float32 as is, uint8 q/255, int8
 * (q+128)/256, each rounded to float32) and kept when at or above 0.001. They are sorted highest
 * first, and equal scores list the larger class index first, as label_image's priority queue of
 * (score, index) pairs orders them.
 */
export function topPredictions(
  scores: ArrayLike<number>,
  type: InputType,
  labels: readonly string[],
  count = TOP_COUNT,
): Prediction[] {
  // A sorted list of the best `count` so far, rather than a sort of every score above the
  // threshold: a float model's 1001 scores are often all above it.
  const best: { index: number; score: number }[] = [];
  for (let index = 0; index < scores.length; index++) {
    const score = dequantize(scores[index] ?? 0, type);
    if (score < SCORE_THRESHOLD) continue;
    // Indices rise, so this one goes before every equal score already listed.
    let at = best.length;
    while (at > 0 && (best[at - 1]?.score ?? Infinity) <= score) at--;
    if (at >= count) continue;
    best.splice(at, 0, { index, score });
    if (best.length > count) best.pop();
  }
  return best.map(({ index, score }) => ({
    index,
    label: labels[index] ?? '',
    confidence: score,
  }));
}

function dequantize(value: number, type: InputType): number {
  switch (type) {
    case 'float32':
      return value;
    case 'uint8':
      return Math.fround(value / 255);
    case 'int8':
      return Math.fround((value + 128) / 256);
  }
}

async function readModelFile(modelPath: string): Promise<Uint8Array> {
  try {
    return await readFile(modelPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`Model file ${modelPath} not found`, { cause: error });
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Model file ${modelPath} could not be read: ${reason}`, { cause: error });
  }
}

/** Passes tensor 0 of an embind vector to `use` and deletes both handles afterwards. */
function withTensor<T>(
  tensors: { size(): number; get(index: number): TfliteTensorInfo; delete(): void },
  use: (tensor: TfliteTensorInfo) => T,
): T {
  try {
    if (tensors.size() < 1) throw new Error('the model has no tensor at position 0');
    const tensor = tensors.get(0);
    try {
      return use(tensor);
    } finally {
      tensor.delete();
    }
  } finally {
    tensors.delete();
  }
}

/** Reads and checks the input and output tensors: one RGB image in, one score vector out. */
function readLayout(runner: TfliteModelRunner, modelPath: string): ModelLayout {
  const input = withTensor(runner.GetInputs(), (t) => ({ type: t.dataType, shape: t.shape }));
  const output = withTensor(runner.GetOutputs(), (t) => ({ type: t.dataType, shape: t.shape }));
  const dims = input.shape.split(',').map(Number);
  const [batch, height, width, channels] = dims;

  if (dims.length !== 4 || batch !== 1 || channels !== 3 || !height || !width) {
    throw new Error(
      `Model file ${modelPath} has input shape [${input.shape}]; a 1xHxWx3 input (one RGB ` +
        'image) is needed',
    );
  }
  const inputType = acceptedType(input.type, modelPath, 'input');
  const outputType = acceptedType(output.type, modelPath, 'output');
  return { inputWidth: width, inputHeight: height, inputType, outputType };
}

function acceptedType(type: string, modelPath: string, role: string): InputType {
  if (type === 'float32' || type === 'uint8' || type === 'int8') return type;
  throw new Error(
    `Model file ${modelPath} has a ${type} ${role} tensor; only float32, uint8 and int8 ` +
      'are supported',
  );
}
