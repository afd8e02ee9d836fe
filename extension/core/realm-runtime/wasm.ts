import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Tensor data types the TensorFlow Lite WASM build reports, as its `dataType` strings. */
export type TfliteDataType =
  'int8' | 'uint8' | 'bool' | 'int16' | 'int32' | 'uint32' | 'float32' | 'float64';

/** A typed array view into WASM memory; a new view is needed after memory grows. */
export type TfliteTensorData =
  Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Handle to a C++ object that embind created; `delete()` releases the C++ side. */
export interface EmbindHandle {
  delete(): void;
}

/** A `std::vector` exposed by embind. */
export interface EmbindVector<T> extends EmbindHandle {
  size(): number;
  get(index: number): T;
}

/** Metadata and memory of one input or output tensor of a model runner. */
export interface TfliteTensorInfo extends EmbindHandle {
  readonly id: number;
  readonly name: string;
  readonly dataType: TfliteDataType;
  /** Dimensions joined by commas, for example `1,224,224,3`. */
  readonly shape: string;
  data(): TfliteTensorData;
}

/** A TensorFlow Lite interpreter with the XNNPACK delegate, as the WASM build wraps it. */
export interface TfliteModelRunner extends EmbindHandle {
  GetInputs(): EmbindVector<TfliteTensorInfo>;
  GetOutputs(): EmbindVector<TfliteTensorInfo>;
  /** Runs the model once; returns false when TensorFlow Lite reports an error. */
  Infer(): boolean;
}

/** Result of creating a runner: either the runner or TensorFlow Lite's error message. */
export interface TfliteRunnerStatus extends EmbindHandle {
  ok(): boolean;
  errorMessage(): string;
  /** Moves the runner out; a second call returns null. */
  value(): TfliteModelRunner | null;
}

export interface TfliteRunnerOptions {
  numThreads: number;
  enableProfiling: boolean;
  maxProfilingBufferEntries: number;
}

/** The part of the Emscripten module that the realm runtime uses. */
export interface TfliteWasmModule {
  /** Current view of WASM memory; the module replaces it when memory grows. */
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  readonly TFLiteWebModelRunner: {
    CreateFromBufferAndOptions(
      pointer: number,
      length: number,
      options: TfliteRunnerOptions,
    ): TfliteRunnerStatus;
  };
}

type ModuleFactory = (overrides: {
  wasmBinary: Uint8Array;
  print: (line: string) => void;
  printErr: (line: string) => void;
}) => Promise<TfliteWasmModule>;

/** Receives the lines that TensorFlow Lite prints, such as the XNNPACK delegate notice. */
export type WasmLogger = (line: string) => void;

const loaderFile = 'tflite_web_api_cc_simd.js';
const binaryFile = 'tflite_web_api_cc_simd.wasm';

let modulePromise: Promise<TfliteWasmModule> | undefined;
let logSink: WasmLogger | undefined;

/**
 * Loads the SIMD build of TensorFlow Lite once per process and returns the same module to every
 * caller. A given logger replaces the previous one, because the module has a single print sink.
 * Until a logger is given, the module's output is dropped rather than written to the console, so
 * that it cannot mix into the realm's output.
 */
export function loadTfliteWasm(logger?: WasmLogger): Promise<TfliteWasmModule> {
  if (logger !== undefined) logSink = logger;
  modulePromise ??= instantiate().catch((error: unknown) => {
    // Forget the failure so that a later call can retry, for example after a rebuild of dist/.
    modulePromise = undefined;
    throw error;
  });
  return modulePromise;
}

/**
 * Returns the folder holding the loader and the .wasm file: `wasm/` beside this file in the
 * esbuild bundle, else the folder inside the installed @tensorflow/tfjs-tflite package.
 */
export function findWasmFolder(): string {
  const bundled = path.join(__dirname, 'wasm');
  if (existsSync(path.join(bundled, loaderFile)) && existsSync(path.join(bundled, binaryFile))) {
    return bundled;
  }
  // Resolved at run time through createRequire, so that esbuild does not try to bundle it.
  const packageJson = createRequire(__filename).resolve('@tensorflow/tfjs-tflite/package.json');
  return path.join(path.dirname(packageJson), 'wasm');
}

async function instantiate(): Promise<TfliteWasmModule> {
  const folder = findWasmFolder();
  const loaderPath = path.join(folder, loaderFile);
  const binaryPath = path.join(folder, binaryFile);
  if (!existsSync(loaderPath) || !existsSync(binaryPath)) {
    throw new Error(
      `TensorFlow Lite WASM files not found in ${folder}: expected ${loaderFile} and ` +
        `${binaryFile}. Reinstall @tensorflow/tfjs-tflite or rebuild dist/ with npm run build.`,
    );
  }

  // createRequire keeps the loader out of the esbuild bundle: it is loaded from disk at run time.
  const loaded: unknown = createRequire(loaderPath)(loaderPath);
  if (typeof loaded !== 'function') {
    throw new Error(`${loaderPath} does not export an Emscripten module factory`);
  }
  const factory = loaded as ModuleFactory;

  const forward = (line: string): void => logSink?.(line);
  return factory({ wasmBinary: readFileSync(binaryPath), print: forward, printErr: forward });
}
