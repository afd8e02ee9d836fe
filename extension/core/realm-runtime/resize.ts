import type { RgbImage } from '../images/types';

/** Input tensor types that the realm's classifier accepts. */
export type InputType = 'float32' | 'uint8' | 'int8';

/** The typed array behind an input tensor of one of the accepted types. */
export type ModelInputArray = Float32Array | Uint8Array | Int8Array;

/**
 * Arithmetic of the interpolated values.
 * - `exact`: the exact bilinear value (a rational number), so truncation is exact too. It
 *   reproduces the reference top-5 results that the unit tests compare against.
 * - `float32`: TensorFlow Lite's optimized float kernel step by step, each product and sum
 *   rounded to float32, including its habit of landing just below an integer.
 *
 * The two agree when image size / model size has a small power-of-two denominator (equal sizes,
 * whole-number downscales, 2x upscales, 224 to 128), because every float32 step is then exact.
 *
 * NOTE: at other scales the realm binary's float kernel truncates some values one lower than
 * `exact` does. The `float32` emulation does so for 3.7% of the uint8 inputs of the ten 224x224
 * sample images at 192x192, so the realm's top-5 there can differ from the one computed here.
 */
export type ResizeArithmetic = 'exact' | 'float32';

/** Maps one interpolated channel value (0 to 255) to the model's input scale. */
export type InputConversion = (value: number) => number;

const f32 = Math.fround;

/** Float models, float32 arithmetic: `(v - 127.5) / 127.5`, label_image's mean and deviation. */
export function toFloatInput(value: number): number {
  return f32(f32(value - 127.5) / 127.5);
}

/** uint8 models: truncation toward zero, as a C++ `static_cast<uint8_t>` of a float does. */
export function toUint8Input(value: number): number {
  // A float32 sum can end a fraction above 255, where the C++ cast is undefined, so clamp.
  return Math.min(255, Math.trunc(value));
}

/** int8 models, float32 arithmetic: `v - 128` rounded to float32, then truncated toward zero. */
export function toInt8Input(value: number): number {
  // `| 0` truncates toward zero like Math.trunc, without giving -0 for (-1, 0).
  return Math.max(-128, Math.min(127, f32(value - 128) | 0));
}

/** int8 models, exact arithmetic: `v - 128` truncated toward zero without rounding first. */
export function toInt8InputExact(value: number): number {
  return Math.max(-128, Math.min(127, (value - 128) | 0));
}

/** Float models, exact arithmetic: the same formula, rounded to float32 once at the end. */
export function toFloatInputExact(value: number): number {
  return f32((value - 127.5) / 127.5);
}

/** Returns label_image's conversion for an input type, for values from the given arithmetic. */
export function conversionFor(type: InputType, arithmetic: ResizeArithmetic): InputConversion {
  switch (type) {
    case 'float32':
      return arithmetic === 'exact' ? toFloatInputExact : toFloatInput;
    case 'uint8':
      return toUint8Input;
    case 'int8':
      return arithmetic === 'exact' ? toInt8InputExact : toInt8Input;
  }
}

/**
 * Resizes an RGB image to `width` x `height` with bilinear interpolation as TensorFlow Lite's
 * ResizeBilinear does with align_corners=false and half_pixel_centers=false, and writes each
 * channel, passed through `convert`, into `target` (NHWC, batch 1). Output pixel i samples the
 * input at i * inputSize / outputSize, between the floor and the next pixel, clamped to the last
 * row or column. The resize runs even when the size already matches, as label_image always
 * resizes.
 */
export function resizeBilinear(
  image: RgbImage,
  width: number,
  height: number,
  target: ModelInputArray,
  convert: InputConversion = (value) => value,
  arithmetic: ResizeArithmetic = 'exact',
): void {
  checkSizes(image, width, height, target);
  if (arithmetic === 'exact') resizeExact(image, width, height, target, convert);
  else resizeFloat32(image, width, height, target, convert);
}

/**
 * Resizes the image to the model's input size and converts it for the input type, writing
 * straight into the input tensor's memory.
 */
export function fillModelInput(
  image: RgbImage,
  width: number,
  height: number,
  type: InputType,
  target: ModelInputArray,
  arithmetic: ResizeArithmetic = 'exact',
): void {
  const convert = conversionFor(type, arithmetic);
  resizeBilinear(image, width, height, target, convert, arithmetic);
}

/** Neighbours and weight numerators along one axis; weights are `numerator / outputSize`. */
interface ExactAxis {
  lower: Int32Array;
  upper: Int32Array;
  /** Weight numerator of the upper neighbour, 0 to outputSize - 1. */
  upperWeight: Int32Array;
}

function exactAxis(inputSize: number, outputSize: number): ExactAxis {
  const axis: ExactAxis = {
    lower: new Int32Array(outputSize),
    upper: new Int32Array(outputSize),
    upperWeight: new Int32Array(outputSize),
  };
  for (let i = 0; i < outputSize; i++) {
    const scaled = i * inputSize;
    const lower = Math.floor(scaled / outputSize);
    axis.lower[i] = lower;
    axis.upper[i] = Math.min(lower + 1, inputSize - 1);
    axis.upperWeight[i] = scaled - lower * outputSize;
  }
  return axis;
}

/**
 * Computes each value as an integer sum over the common denominator width * height, so the only
 * rounding is the final division, which cannot move a value across an integer.
 */
function resizeExact(
  image: RgbImage,
  width: number,
  height: number,
  target: ModelInputArray,
  convert: InputConversion,
): void {
  const rows = exactAxis(image.height, height);
  const columns = exactAxis(image.width, width);
  const denominator = width * height;
  const pixels = image.data;
  const stride = image.width * 3;
  let offset = 0;

  for (let y = 0; y < height; y++) {
    const top = rows.lower[y] * stride;
    const bottom = rows.upper[y] * stride;
    const weightBottom = rows.upperWeight[y];
    const weightTop = height - weightBottom;

    for (let x = 0; x < width; x++) {
      const left = columns.lower[x] * 3;
      const right = columns.upper[x] * 3;
      const weightRight = columns.upperWeight[x];
      const weightLeft = width - weightRight;

      for (let channel = 0; channel < 3; channel++) {
        const upperRow =
          pixels[top + left + channel] * weightLeft + pixels[top + right + channel] * weightRight;
        const lowerRow =
          pixels[bottom + left + channel] * weightLeft +
          pixels[bottom + right + channel] * weightRight;
        target[offset++] = convert((upperRow * weightTop + lowerRow * weightBottom) / denominator);
      }
    }
  }
}

/** Sample positions along one axis, computed in float32 as TensorFlow Lite does. */
interface Float32Axis {
  lower: Int32Array;
  upper: Int32Array;
  /** Distance of the sample point from `lower`, a float32 value in [0, 1). */
  fraction: Float32Array;
}

function float32Axis(inputSize: number, outputSize: number): Float32Axis {
  const scale = f32(inputSize / outputSize);
  const axis: Float32Axis = {
    lower: new Int32Array(outputSize),
    upper: new Int32Array(outputSize),
    fraction: new Float32Array(outputSize),
  };
  for (let i = 0; i < outputSize; i++) {
    const position = f32(i * scale);
    const lower = Math.max(Math.floor(position), 0);
    axis.lower[i] = lower;
    axis.upper[i] = Math.min(Math.ceil(position), inputSize - 1);
    axis.fraction[i] = f32(position - lower);
  }
  return axis;
}

/**
 * Follows TensorFlow Lite's optimized float kernel: corner weights as float32 products, then the
 * four corners added in the order top-left, top-right, bottom-left, bottom-right.
 *
 * NOTE: an aarch64 build may fuse each multiply and add into one rounding step, so the last bit
 * of a value, and after truncation a uint8 input, can differ from this emulation.
 */
function resizeFloat32(
  image: RgbImage,
  width: number,
  height: number,
  target: ModelInputArray,
  convert: InputConversion,
): void {
  const rows = float32Axis(image.height, height);
  const columns = float32Axis(image.width, width);
  const pixels = image.data;
  const stride = image.width * 3;
  let offset = 0;

  for (let y = 0; y < height; y++) {
    const top = rows.lower[y] * stride;
    const bottom = rows.upper[y] * stride;
    const dy = rows.fraction[y];
    const oneMinusDy = f32(1 - dy);

    for (let x = 0; x < width; x++) {
      const left = columns.lower[x] * 3;
      const right = columns.upper[x] * 3;
      const dx = columns.fraction[x];
      const oneMinusDx = f32(1 - dx);
      const weightTopLeft = f32(oneMinusDy * oneMinusDx);
      const weightTopRight = f32(dx * oneMinusDy);
      const weightBottomLeft = f32(oneMinusDx * dy);
      const weightBottomRight = f32(dx * dy);

      for (let channel = 0; channel < 3; channel++) {
        let value = f32(pixels[top + left + channel] * weightTopLeft);
        value = f32(value + f32(pixels[top + right + channel] * weightTopRight));
        value = f32(value + f32(pixels[bottom + left + channel] * weightBottomLeft));
        value = f32(value + f32(pixels[bottom + right + channel] * weightBottomRight));
        target[offset++] = convert(value);
      }
    }
  }
}

function checkSizes(image: RgbImage, width: number, height: number, target: ModelInputArray): void {
  if (image.width < 1 || image.height < 1) {
    throw new RangeError(`Image size ${image.width}x${image.height} is empty`);
  }
  if (image.data.length < image.width * image.height * 3) {
    throw new RangeError(
      `Image data has ${image.data.length} bytes, expected ${image.width * image.height * 3} ` +
        `for ${image.width}x${image.height} RGB`,
    );
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Target size ${width}x${height} is invalid: both must be integers >= 1`);
  }
  if (target.length < width * height * 3) {
    throw new RangeError(
      `Target has ${target.length} values, expected ${width * height * 3} for ${width}x${height}`,
    );
  }
}
