import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  BI_BITFIELDS,
  BI_RGB,
  decodeBmp,
  encodeBmp24,
  readBmpInfo,
} from '../../../core/images/bmp';
import { decodeImage, prepareRealmInput } from '../../../core/images/decode';
import { ImageDecodeError, type RgbImage } from '../../../core/images/types';
import { assertPixels, toRgb, writeBmp, writePng, type Rgb } from './fixtures';

/** Returns a 6x4 image with a different color in every pixel. */
function sampleImage(): RgbImage {
  const width = 6;
  const height = 4;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data.set([(i * 37) & 0xff, (i * 91 + 13) & 0xff, (255 - i * 11) & 0xff], i * 3);
  }
  return { width, height, data };
}

function pixelRows(image: RgbImage): Rgb[][] {
  return Array.from({ length: image.height }, (_, y) =>
    Array.from({ length: image.width }, (_, x): Rgb => {
      const i = (y * image.width + x) * 3;
      return [image.data[i], image.data[i + 1], image.data[i + 2]];
    }),
  );
}

/** Asserts an ImageDecodeError whose message starts with the file name and matches `problem`. */
function assertDecodeError(action: () => unknown, name: string, problem: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ImageDecodeError, `expected ImageDecodeError, got ${String(error)}`);
    assert.ok(error.message.startsWith(`${name}: `), error.message);
    assert.match(error.message, problem);
    return true;
  });
}

describe('encodeBmp24', () => {
  test('writes the 54-byte header', () => {
    const file = encodeBmp24(sampleImage());
    const rowStride = 20; // 6 pixels * 3 bytes, padded to 20

    assert.equal(file.toString('latin1', 0, 2), 'BM');
    assert.equal(file.readUInt32LE(2), file.length);
    assert.equal(file.length, 54 + rowStride * 4);
    assert.equal(file.readUInt32LE(10), 54);
    assert.equal(file.readUInt32LE(14), 40);
    assert.equal(file.readInt32LE(18), 6);
    assert.equal(file.readInt32LE(22), 4, 'positive height: bottom-up rows');
    assert.equal(file.readUInt16LE(26), 1);
    assert.equal(file.readUInt16LE(28), 24);
    assert.equal(file.readUInt32LE(30), BI_RGB);
    assert.equal(file.readUInt32LE(34), rowStride * 4);
    assert.equal(file.readInt32LE(38), 2835);
    assert.equal(file.readInt32LE(42), 2835);
  });

  test('stores the top row last', () => {
    const image = sampleImage();
    const file = encodeBmp24(image);
    const lastRow = 54 + 3 * 20;

    assert.deepEqual(Array.from(file.subarray(lastRow, lastRow + 3)), [
      image.data[2],
      image.data[1],
      image.data[0],
    ]);
    assert.deepEqual(Array.from(file.subarray(lastRow + 18, lastRow + 20)), [0, 0], 'padding');
  });

  for (let width = 1; width <= 5; width++) {
    test(`round trip, width ${width}`, () => {
      const height = 3;
      const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 29 + 7) & 0xff);
      const image = { width, height, data };

      const decoded = decodeBmp(encodeBmp24(image), 'round-trip.bmp');

      assertPixels(decoded, pixelRows(image));
    });
  }

  test('rejects wrong data length', () => {
    assert.throws(
      () => encodeBmp24({ width: 2, height: 2, data: new Uint8Array(11) }),
      /image data has 11 bytes, but a 2x2 RGB image needs 12/,
    );
  });

  test('rejects zero width', () => {
    assert.throws(
      () => encodeBmp24({ width: 0, height: 2, data: new Uint8Array(0) }),
      /cannot encode a BMP of size 0x2/,
    );
  });
});

describe('decodeImage PNG', () => {
  const image = sampleImage();
  const rgbScanlines = pixelRows(image).map((row) => Uint8Array.from(row.flat()));

  test('RGB', () => {
    const file = writePng({
      width: 6,
      height: 4,
      colorType: 2,
      bitDepth: 8,
      scanlines: rgbScanlines,
    });
    assertPixels(decodeImage(file, 'rgb.png'), pixelRows(image));
  });

  test('RGBA drops alpha', () => {
    const scanlines = pixelRows(image).map((row) =>
      Uint8Array.from(row.flatMap(([r, g, b], x) => [r, g, b, x * 40])),
    );
    const file = writePng({ width: 6, height: 4, colorType: 6, bitDepth: 8, scanlines });
    assertPixels(decodeImage(file, 'rgba.png'), pixelRows(image));
  });

  test('RGBA written by pngjs', () => {
    const png = new PNG({ width: 6, height: 4 });
    pixelRows(image)
      .flat()
      .forEach(([r, g, b], i) => png.data.set([r, g, b, 255 - i], i * 4));
    const file = PNG.sync.write(png);
    assertPixels(decodeImage(file, 'pngjs.png'), pixelRows(image));
  });

  test('8-bit palette', () => {
    const palette: Rgb[] = [
      [0, 0, 0],
      [255, 10, 20],
      [30, 200, 40],
    ];
    const indices = [
      [0, 1, 2],
      [2, 2, 1],
    ];
    const file = writePng({
      width: 3,
      height: 2,
      colorType: 3,
      bitDepth: 8,
      scanlines: indices.map((row) => Uint8Array.from(row)),
      palette,
    });
    assertPixels(
      decodeImage(file, 'palette.png'),
      indices.map((row) => row.map((index) => palette[index])),
    );
  });

  test('4-bit palette', () => {
    const palette: Rgb[] = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    // Indices 1, 0, 1 packed into 4-bit nibbles, high nibble first.
    const file = writePng({
      width: 3,
      height: 1,
      colorType: 3,
      bitDepth: 4,
      scanlines: [Uint8Array.of(0x10, 0x10)],
      palette,
    });
    assertPixels(decodeImage(file, 'palette4.png'), [[palette[1], palette[0], palette[1]]]);
  });

  test('8-bit gray', () => {
    const file = writePng({
      width: 3,
      height: 1,
      colorType: 0,
      bitDepth: 8,
      scanlines: [Uint8Array.of(0, 77, 255)],
    });
    assertPixels(decodeImage(file, 'gray.png'), [
      [
        [0, 0, 0],
        [77, 77, 77],
        [255, 255, 255],
      ],
    ]);
  });

  test('16-bit gray scales down', () => {
    // 0x8080 * 255 / 65535 is 128.0.
    const file = writePng({
      width: 2,
      height: 1,
      colorType: 0,
      bitDepth: 16,
      scanlines: [Uint8Array.of(0xff, 0xff, 0x80, 0x80)],
    });
    assertPixels(decodeImage(file, 'gray16.png'), [
      [
        [255, 255, 255],
        [128, 128, 128],
      ],
    ]);
  });

  test('gray with alpha', () => {
    const file = writePng({
      width: 2,
      height: 1,
      colorType: 4,
      bitDepth: 8,
      scanlines: [Uint8Array.of(90, 0, 180, 255)],
    });
    assertPixels(decodeImage(file, 'graya.png'), [
      [
        [90, 90, 90],
        [180, 180, 180],
      ],
    ]);
  });

  test('corrupt data names the file', () => {
    const file = writePng({
      width: 6,
      height: 4,
      colorType: 2,
      bitDepth: 8,
      scanlines: rgbScanlines,
    });
    file.fill(0x55, 40, 60);
    assertDecodeError(() => decodeImage(file, 'broken.png'), 'broken.png', /invalid PNG: /);
  });

  test('huge IHDR size rejected first', () => {
    const file = writePng({
      width: 1,
      height: 1,
      colorType: 2,
      bitDepth: 8,
      scanlines: [Uint8Array.of(1, 2, 3)],
    });
    file.writeUInt32BE(100_000, 16);
    file.writeUInt32BE(100_000, 20);
    assertDecodeError(
      () => decodeImage(file, 'huge.png'),
      'huge.png',
      /image size 100000x100000 exceeds the maximum/,
    );
  });

  test('missing IHDR', () => {
    const file = Buffer.from('89504e470d0a1a0a0000000d49444154', 'hex');
    assertDecodeError(() => decodeImage(file, 'short.png'), 'short.png', /IHDR header chunk/);
  });
});

/** Encodes a smooth 32x24 gradient as a JPEG with jpeg-js at quality 100. */
function gradientJpeg(): { image: RgbImage; file: Buffer } {
  const width = 32;
  const height = 24;
  const rgba = new Uint8Array(width * height * 4);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pixel = [x * 8, y * 10, 128 + ((x + y) % 16) * 4];
      data.set(pixel, (y * width + x) * 3);
      rgba.set([...pixel, 255], (y * width + x) * 4);
    }
  }
  const file = encodeJpeg({ width, height, data: rgba }, 100).data;
  return { image: { width, height, data }, file };
}

describe('decodeImage JPEG', () => {
  test('quality 100 round trip', () => {
    const { image, file } = gradientJpeg();

    const decoded = decodeImage(file, 'gradient.jpg');

    assert.equal(decoded.width, image.width);
    assert.equal(decoded.height, image.height);
    assert.equal(decoded.data.length, image.data.length);
    let maxError = 0;
    for (let i = 0; i < image.data.length; i++) {
      maxError = Math.max(maxError, Math.abs(decoded.data[i] - image.data[i]));
    }
    assert.ok(maxError <= 6, `largest channel error ${maxError}`);
  });

  test('corrupt data names the file', () => {
    const file = Buffer.concat([Buffer.of(0xff, 0xd8, 0xff, 0xe0), Buffer.alloc(64, 0x17)]);
    assertDecodeError(() => decodeImage(file, 'broken.jpg'), 'broken.jpg', /invalid JPEG: /);
  });
});

describe('decodeImage formats', () => {
  test('BMP by magic bytes', () => {
    const rows = [[0x010203, 0x040506]];
    const file = writeBmp({ width: 2, rows, bitsPerPixel: 24 });
    assertPixels(decodeImage(file, 'a.bmp'), toRgb(rows));
  });

  test('GIF lists supported formats', () => {
    assertDecodeError(
      () => decodeImage(Buffer.from('GIF89a......'), 'anim.gif'),
      'anim.gif',
      /the contents are not a BMP, PNG or JPEG image \(first bytes 47 49 46 38\); supported formats are \.bmp, \.png and \.jpg\/\.jpeg/,
    );
  });

  test('empty file', () => {
    assertDecodeError(
      () => decodeImage(new Uint8Array(0), 'empty.bmp'),
      'empty.bmp',
      /the file is empty/,
    );
  });
});

describe('prepareRealmInput', () => {
  test('24-bit BI_RGB stays identical', () => {
    const file = encodeBmp24(sampleImage());
    const copy = Buffer.from(file);

    const input = prepareRealmInput(file, 'plain.bmp');

    assert.equal(input.converted, false);
    assert.equal(input.reason, undefined);
    assert.equal(input.bytes, file, 'the same Buffer is returned');
    assert.deepEqual(input.bytes, copy);
  });

  test('Uint8Array input keeps its bytes', () => {
    const file = new Uint8Array(encodeBmp24(sampleImage()));

    const input = prepareRealmInput(file, 'plain.bmp');

    assert.equal(input.converted, false);
    assert.ok(Buffer.isBuffer(input.bytes));
    assert.deepEqual(new Uint8Array(input.bytes), file);
  });

  test('V4 24-bit top-down stays identical', () => {
    const rows = [[0x112233, 0x445566, 0x778899]];
    const file = writeBmp({ width: 3, rows, bitsPerPixel: 24, headerSize: 108, topDown: true });

    const input = prepareRealmInput(file, 'v4.bmp');

    assert.equal(input.converted, false);
    assert.equal(input.bytes, file);
  });

  const palette: Rgb[] = Array.from({ length: 16 }, (_, i) => [i * 16, 255 - i * 16, i]);
  const indices = [
    [0, 5, 9],
    [15, 1, 2],
  ];
  const pixel32 = [
    [0x00102030, 0x00405060, 0x00708090],
    [0x00a0b0c0, 0x00d0e0f0, 0x00010203],
  ];
  const conversions: { reason: string; file: () => Buffer }[] = [
    {
      reason: '8-bit palette BMP',
      file: () => writeBmp({ width: 3, rows: indices, bitsPerPixel: 8, palette }),
    },
    {
      reason: '4-bit palette BMP',
      file: () => writeBmp({ width: 3, rows: indices, bitsPerPixel: 4, palette }),
    },
    {
      reason: '1-bit palette BMP',
      file: () =>
        writeBmp({ width: 3, rows: [[0, 1, 1]], bitsPerPixel: 1, palette: palette.slice(0, 2) }),
    },
    {
      reason: '16-bit BMP',
      file: () => writeBmp({ width: 3, rows: [[0x7c00, 0x03e0, 0x001f]], bitsPerPixel: 16 }),
    },
    {
      reason: '32-bit BMP',
      file: () => writeBmp({ width: 3, rows: pixel32, bitsPerPixel: 32 }),
    },
    {
      reason: '32-bit BI_BITFIELDS BMP',
      file: () =>
        writeBmp({
          width: 3,
          rows: pixel32,
          bitsPerPixel: 32,
          compression: BI_BITFIELDS,
          masks: [0xff0000, 0xff00, 0xff],
        }),
    },
    {
      reason: '24-bit BMP with a 12-byte core header',
      file: () => writeBmp({ width: 3, rows: pixel32, bitsPerPixel: 24, headerSize: 12 }),
    },
    {
      reason: 'PNG',
      file: () =>
        writePng({
          width: 2,
          height: 1,
          colorType: 2,
          bitDepth: 8,
          scanlines: [Uint8Array.of(1, 2, 3, 4, 5, 6)],
        }),
    },
    { reason: 'JPEG', file: () => gradientJpeg().file },
  ];

  for (const { reason, file } of conversions) {
    test(`converts ${reason}`, () => {
      const original = file();

      const input = prepareRealmInput(original, 'input');

      assert.equal(input.converted, true);
      assert.equal(input.reason, reason);
      const info = readBmpInfo(input.bytes, 'converted.bmp');
      assert.equal(info.bitsPerPixel, 24);
      assert.equal(info.compression, BI_RGB);
      assert.equal(info.headerSize, 40);
      assert.equal(info.pixelOffset, 54);
      const expected = decodeImage(original, 'input');
      assertPixels(decodeBmp(input.bytes, 'converted.bmp'), pixelRows(expected));
    });
  }

  test('converted output is stable', () => {
    const first = prepareRealmInput(conversions[0].file(), 'palette.bmp');
    const second = prepareRealmInput(first.bytes, 'converted.bmp');
    assert.equal(second.converted, false);
  });

  test('truncated BMP throws', () => {
    const file = encodeBmp24(sampleImage()).subarray(0, 70);
    assertDecodeError(
      () => prepareRealmInput(file, 'cut.bmp'),
      'cut.bmp',
      /pixel data is truncated/,
    );
  });

  test('unknown format throws', () => {
    assertDecodeError(
      () => prepareRealmInput(Buffer.from('not an image'), 'notes.txt'),
      'notes.txt',
      /not a BMP, PNG or JPEG image/,
    );
  });
});
