// Property tests of the BMP header parser and decoder on random and damaged files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeBmp, encodeBmp24, readBmpInfo } from '../../../core/images/bmp';
import { prepareRealmInput } from '../../../core/images/decode';
import {
  ImageDecodeError,
  MAX_IMAGE_DIMENSION,
  MAX_IMAGE_PIXELS,
  type RgbImage,
} from '../../../core/images/types';
import { writeBmp, type BmpFixture } from '../images/fixtures';

/** Runs `decode` and returns its image, or undefined when it raised an ImageDecodeError. */
function decodeOrReject<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ImageDecodeError) return undefined;
    throw error;
  }
}

function assertWellFormed(image: RgbImage): void {
  assert.ok(Number.isInteger(image.width), `width ${image.width}`);
  assert.ok(Number.isInteger(image.height), `height ${image.height}`);
  assert.ok(image.width > 0, `width ${image.width}`);
  assert.ok(image.height > 0, `height ${image.height}`);
  assert.ok(image.width <= MAX_IMAGE_DIMENSION, `width ${image.width}`);
  assert.ok(image.height <= MAX_IMAGE_DIMENSION, `height ${image.height}`);
  assert.ok(image.width * image.height <= MAX_IMAGE_PIXELS);
  assert.equal(image.data.length, image.width * image.height * 3);
}

const rgbImage: fc.Arbitrary<RgbImage> = fc
  .record({ width: fc.integer({ min: 1, max: 9 }), height: fc.integer({ min: 1, max: 9 }) })
  .chain(({ width, height }) =>
    fc
      .uint8Array({ minLength: width * height * 3, maxLength: width * height * 3 })
      .map((data) => ({ width, height, data })),
  );

/** A valid BMP in one of the layouts the decoder reads, small enough to damage byte by byte. */
const validBmp = fc
  .record({
    width: fc.integer({ min: 1, max: 6 }),
    height: fc.integer({ min: 1, max: 6 }),
    layout: fc.constantFrom<
      Pick<BmpFixture, 'bitsPerPixel' | 'headerSize' | 'compression' | 'masks'>
    >(
      { bitsPerPixel: 24, headerSize: 40 as const },
      { bitsPerPixel: 24, headerSize: 12 as const },
      { bitsPerPixel: 24, headerSize: 124 as const },
      { bitsPerPixel: 8, headerSize: 40 as const },
      { bitsPerPixel: 4, headerSize: 40 as const },
      { bitsPerPixel: 1, headerSize: 40 as const },
      { bitsPerPixel: 16, headerSize: 40 as const },
      { bitsPerPixel: 32, headerSize: 40 as const },
      {
        bitsPerPixel: 32,
        headerSize: 56 as const,
        compression: 3,
        masks: [0xff0000, 0xff00, 0xff, 0],
      },
    ),
    topDown: fc.boolean(),
    seed: fc.nat(),
  })
  .map(({ width, height, layout, topDown, seed }) => {
    const maxValue = layout.bitsPerPixel >= 24 ? 0xffffff : (1 << layout.bitsPerPixel) - 1;
    const rows = Array.from({ length: height }, (_, y) =>
      Array.from({ length: width }, (_, x) => (seed + x * 31 + y * 17) % (maxValue + 1)),
    );
    const palette =
      layout.bitsPerPixel <= 8
        ? Array.from({ length: 1 << layout.bitsPerPixel }, (_, i): [number, number, number] => [
            i & 0xff,
            (i * 7) & 0xff,
            (i * 13) & 0xff,
          ])
        : undefined;
    return writeBmp({
      width,
      rows,
      topDown: topDown && layout.headerSize !== 12,
      palette,
      ...layout,
    });
  });

/** Changes to the header bytes: an offset in the first 160 bytes and a new value. */
const headerChanges = fc.array(
  fc.tuple(fc.nat(159), fc.oneof(fc.nat(255), fc.constantFrom(0, 0x7f, 0x80, 0xff))),
  { minLength: 1, maxLength: 6 },
);

describe('BMP properties', () => {
  test('random bytes after BM give an image or ImageDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (rest) => {
        const bytes = Buffer.concat([Buffer.from('BM'), rest]);
        const image = decodeOrReject(() => decodeBmp(bytes, 'random.bmp'));
        if (image) assertWellFormed(image);
      }),
      { numRuns: 3000 },
    );
  });

  test('damaged headers give an image or ImageDecodeError', () => {
    fc.assert(
      fc.property(validBmp, headerChanges, (original, changes) => {
        const bytes = Buffer.from(original);
        for (const [offset, value] of changes) if (offset < bytes.length) bytes[offset] = value;

        const info = decodeOrReject(() => readBmpInfo(bytes, 'damaged.bmp'));
        const image = decodeOrReject(() => decodeBmp(bytes, 'damaged.bmp'));
        // readBmpInfo checks everything decodeBmp relies on, so they agree.
        assert.equal(info === undefined, image === undefined);
        if (!image || !info) return;
        assertWellFormed(image);
        assert.equal(image.width, info.width);
        assert.equal(image.height, info.height);

        const input = decodeOrReject(() => prepareRealmInput(bytes, 'damaged.bmp'));
        assert.ok(input, 'a BMP that decodes is prepared for the realm');
        if (!input.converted) {
          // Passed on as is: the realm's reader finds every pixel row inside the file.
          const rowBytes = Math.ceil((info.width * 24) / 32) * 4;
          assert.ok(
            info.pixelOffset + rowBytes * (info.height - 1) + info.width * 3 <= bytes.length,
          );
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('every truncation of a valid BMP is rejected', () => {
    fc.assert(
      fc.property(validBmp, fc.nat(), (bytes, cut) => {
        const length = cut % bytes.length;
        const truncated = bytes.subarray(0, length);
        // The last row's padding is never read, so a file may lose those bytes and still decode.
        const image = decodeOrReject(() => decodeBmp(truncated, 'cut.bmp'));
        if (image) assertWellFormed(image);
        assert.ok(
          image === undefined || bytes.length - length <= 3,
          `${length} of ${bytes.length}`,
        );
      }),
      { numRuns: 2000 },
    );
  });

  test('huge sizes in the header are rejected before any allocation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.constantFrom(1, 4, 8, 16, 24, 32),
        (width, height, bitsPerPixel) => {
          const bytes = writeBmp({ width: 1, rows: [[0]], bitsPerPixel, palette: [[1, 2, 3]] });
          bytes.writeInt32LE(width, 18);
          bytes.writeInt32LE(height, 22);
          const before = process.memoryUsage().arrayBuffers;
          const image = decodeOrReject(() => decodeBmp(bytes, 'huge.bmp'));
          if (image) assertWellFormed(image);
          // A few hundred bytes of file can describe gigabytes of pixels; none are allocated.
          assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
          // An image decodes only when its padded pixel rows fit in the file (a 1-bit row of
          // up to 32 pixels fits in the 4 bytes of a 1-pixel row).
          const rowBytes = Math.ceil((Math.abs(width) * bitsPerPixel) / 32) * 4;
          if (image) assert.ok(rowBytes * Math.abs(height) <= bytes.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('encode then decode gives the same pixels', () => {
    fc.assert(
      fc.property(rgbImage, (image) => {
        const bytes = encodeBmp24(image);
        const decoded = decodeBmp(bytes, 'round-trip.bmp');
        assert.equal(decoded.width, image.width);
        assert.equal(decoded.height, image.height);
        assert.deepEqual([...decoded.data], [...image.data]);
        const input = prepareRealmInput(bytes, 'round-trip.bmp');
        assert.equal(input.converted, false);
      }),
      { numRuns: 500 },
    );
  });
});
