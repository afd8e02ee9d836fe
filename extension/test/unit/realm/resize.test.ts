import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RgbImage } from '../../../core/images/types';
import {
  fillModelInput,
  resizeBilinear,
  toFloatInput,
  toInt8Input,
  toInt8InputExact,
  toUint8Input,
  type ResizeArithmetic,
} from '../../../core/realm-runtime/resize';

/** Builds an RGB image from one row-major list of [r, g, b] pixels. */
function image(width: number, height: number, pixels: [number, number, number][]): RgbImage {
  assert.equal(pixels.length, width * height, 'test image pixel count');
  return { width, height, data: Uint8Array.from(pixels.flat()) };
}

/** Returns channel `channel` of a resized NHWC buffer as rows. */
function channelRows(values: Float32Array, width: number, channel: number): number[][] {
  const rows: number[][] = [];
  for (let i = channel; i < values.length; i += 3) {
    const pixel = (i - channel) / 3;
    if (pixel % width === 0) rows.push([]);
    rows[rows.length - 1]?.push(values[i] ?? NaN);
  }
  return rows;
}

function resize(source: RgbImage, width: number, height: number, arithmetic: ResizeArithmetic) {
  const target = new Float32Array(width * height * 3);
  resizeBilinear(source, width, height, target, (value) => value, arithmetic);
  return target;
}

// Red 0/30/60/90 and green 255 minus red; blue is constant, so it must stay constant.
const square = image(2, 2, [
  [0, 255, 7],
  [30, 225, 7],
  [60, 195, 7],
  [90, 165, 7],
]);

describe('resizeBilinear', () => {
  test('2x2 to 3x3 exact', () => {
    // Samples at 0, 2/3 and 4/3; the last clamps to the second pixel.
    const values = resize(square, 3, 3, 'exact');
    assert.deepEqual(channelRows(values, 3, 0), [
      [0, 20, 30],
      [40, 60, 70],
      [60, 80, 90],
    ]);
    assert.deepEqual(channelRows(values, 3, 1), [
      [255, 235, 225],
      [215, 195, 185],
      [195, 175, 165],
    ]);
    assert.deepEqual(channelRows(values, 3, 2), [
      [7, 7, 7],
      [7, 7, 7],
      [7, 7, 7],
    ]);
  });

  test('2x2 to 3x3 float32 close to exact', () => {
    const exact = resize(square, 3, 3, 'exact');
    const float32 = resize(square, 3, 3, 'float32');
    for (let i = 0; i < exact.length; i++) {
      const difference = Math.abs((float32[i] ?? NaN) - (exact[i] ?? NaN));
      assert.ok(difference < 1e-4, `value ${i}: float32 ${float32[i]} vs exact ${exact[i]}`);
    }
  });

  for (const arithmetic of ['exact', 'float32'] as const) {
    test(`identity size keeps pixels (${arithmetic})`, () => {
      const source = image(3, 2, [
        [1, 2, 3],
        [250, 128, 0],
        [17, 99, 201],
        [255, 255, 255],
        [0, 0, 0],
        [64, 32, 16],
      ]);
      const values = resize(source, 3, 2, arithmetic);
      assert.deepEqual(Array.from(values), Array.from(source.data));
    });

    test(`downscale by 2 picks even pixels (${arithmetic})`, () => {
      const pixels: [number, number, number][] = [];
      for (let i = 0; i < 16; i++) pixels.push([i * 10, 255 - i * 10, i]);
      const values = resize(image(4, 4, pixels), 2, 2, arithmetic);
      // Samples at 0 and 2 in both axes: pixels 0, 2, 8 and 10.
      assert.deepEqual(channelRows(values, 2, 0), [
        [0, 20],
        [80, 100],
      ]);
      assert.deepEqual(channelRows(values, 2, 2), [
        [0, 2],
        [8, 10],
      ]);
    });
  }

  test('downscale 3 to 2 averages halfway', () => {
    const row = image(3, 1, [
      [5, 0, 0],
      [10, 0, 0],
      [21, 255, 1],
    ]);
    const values = resize(row, 2, 1, 'exact');
    // Samples at 0 and 1.5: the second is the mean of pixels 1 and 2.
    assert.deepEqual(channelRows(values, 2, 0), [[5, 15.5]]);
    assert.deepEqual(channelRows(values, 2, 1), [[0, 127.5]]);
  });

  test('float32 truncation artifact', () => {
    // 7 to 6 pixels (the ratio of 224 to 192): output 2 samples at 7/3, a third of the way
    // from 0 to 60. The exact value is 20, while the float32 product ends just below it.
    const pixels: [number, number, number][] = [0, 0, 0, 60, 0, 0, 0].map((v) => [v, v, v]);
    const source = image(7, 1, pixels);
    const exact = new Uint8Array(18);
    const float32 = new Uint8Array(18);
    fillModelInput(source, 6, 1, 'uint8', exact, 'exact');
    fillModelInput(source, 6, 1, 'uint8', float32, 'float32');
    assert.equal(exact[6], 20);
    assert.equal(float32[6], 19);
  });

  test('upscale 1 to 2 clamps the edge', () => {
    const values = resize(image(1, 1, [[9, 8, 7]]), 2, 2, 'exact');
    assert.deepEqual(Array.from(values), [9, 8, 7, 9, 8, 7, 9, 8, 7, 9, 8, 7]);
  });

  test('rejects a short target', () => {
    assert.throws(
      () => resizeBilinear(square, 3, 3, new Float32Array(26)),
      /Target has 26 values, expected 27/,
    );
  });

  test('rejects short image data', () => {
    const broken: RgbImage = { width: 2, height: 2, data: new Uint8Array(11) };
    assert.throws(() => resizeBilinear(broken, 1, 1, new Float32Array(3)), /11 bytes/);
  });
});

describe('input conversion', () => {
  test('uint8 truncates toward zero', () => {
    assert.equal(toUint8Input(15.5), 15);
    assert.equal(toUint8Input(254.99), 254);
    assert.equal(toUint8Input(0.4), 0);
    assert.equal(toUint8Input(255.00001), 255);
  });

  test('int8 subtracts 128 and truncates', () => {
    assert.equal(toInt8Input(0), -128);
    assert.equal(toInt8Input(255), 127);
    assert.equal(toInt8Input(128), 0);
    assert.equal(toInt8Input(15.5), -112);
    // -0.5 truncates toward zero, where floor would give -1.
    assert.equal(toInt8Input(127.5), 0);
    assert.equal(toInt8InputExact(127.5), 0);
    assert.equal(toInt8InputExact(200.75), 72);
  });

  test('int8 rounds to float32 first', () => {
    // 1 + 2^-23 minus 128 is -126.99999988 exactly, but -127 in float32, as in C++.
    const justAboveOne = 1 + 2 ** -23;
    assert.equal(toInt8Input(justAboveOne), -127);
    assert.equal(toInt8InputExact(justAboveOne), -126);
  });

  test('float maps 0..255 to -1..1', () => {
    assert.equal(toFloatInput(0), -1);
    assert.equal(toFloatInput(255), 1);
    assert.equal(toFloatInput(127.5), 0);
    assert.equal(toFloatInput(191.25), 0.5);
  });

  test('fillModelInput writes int8 values', () => {
    const target = new Int8Array(3);
    fillModelInput(image(1, 1, [[0, 128, 255]]), 1, 1, 'int8', target);
    assert.deepEqual(Array.from(target), [-128, 0, 127]);
  });

  test('fillModelInput writes float values', () => {
    const target = new Float32Array(3);
    fillModelInput(image(1, 1, [[0, 255, 51]]), 1, 1, 'float32', target);
    assert.deepEqual(Array.from(target), [-1, 1, Math.fround(-76.5 / 127.5)]);
  });
});
