import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BI_ALPHABITFIELDS,
  BI_BITFIELDS,
  BI_JPEG,
  BI_PNG,
  BI_RLE4,
  BI_RLE8,
  decodeBmp,
  readBmpInfo,
} from '../../../core/images/bmp';
import { ImageDecodeError } from '../../../core/images/types';
import { assertPixels, toRgb, writeBmp, type Rgb } from './fixtures';

const NAME = 'fixture.bmp';

describe('decodeBmp palette images', () => {
  const twoColors: Rgb[] = [
    [10, 20, 30],
    [200, 100, 50],
  ];

  test('1-bit rows cross byte boundaries', () => {
    const rows = [
      [0, 1, 0, 1, 1, 0, 0, 1, 1],
      [1, 1, 1, 0, 0, 0, 1, 0, 0],
    ];
    const file = writeBmp({ width: 9, rows, bitsPerPixel: 1, palette: twoColors });

    const image = decodeBmp(file, NAME);

    assertPixels(
      image,
      rows.map((row) => row.map((index) => twoColors[index])),
    );
  });

  test('4-bit palette sized by biClrUsed', () => {
    const palette: Rgb[] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const rows = [
      [0, 1, 2, 1, 0],
      [2, 2, 1, 0, 1],
      [1, 0, 0, 2, 2],
    ];
    const file = writeBmp({ width: 5, rows, bitsPerPixel: 4, palette, colorsUsed: 3 });

    assert.equal(readBmpInfo(file, NAME).pixelOffset, 14 + 40 + 3 * 4);
    assertPixels(
      decodeBmp(file, NAME),
      rows.map((row) => row.map((index) => palette[index])),
    );
  });

  const gradient: Rgb[] = Array.from({ length: 256 }, (_, i) => [i, 255 - i, (i * 7) & 0xff]);
  const indexRows = [
    [0, 128, 255],
    [17, 3, 200],
  ];
  const indexColors = indexRows.map((row) => row.map((index) => gradient[index]));

  test('8-bit bottom-up with odd width', () => {
    const file = writeBmp({ width: 3, rows: indexRows, bitsPerPixel: 8, palette: gradient });
    assertPixels(decodeBmp(file, NAME), indexColors);
  });

  test('8-bit top-down', () => {
    const file = writeBmp({
      width: 3,
      rows: indexRows,
      bitsPerPixel: 8,
      palette: gradient,
      topDown: true,
    });
    assertPixels(decodeBmp(file, NAME), indexColors);
  });

  test('index past the palette is black', () => {
    const file = writeBmp({ width: 2, rows: [[1, 5]], bitsPerPixel: 8, palette: twoColors });
    assertPixels(decodeBmp(file, NAME), [[twoColors[1], [0, 0, 0]]]);
  });

  test('core header uses BGR entries', () => {
    const palette: Rgb[] = [
      [1, 2, 3],
      [250, 128, 4],
    ];
    const file = writeBmp({
      width: 3,
      rows: [[1, 0, 1]],
      bitsPerPixel: 1,
      palette,
      headerSize: 12,
    });

    assert.equal(readBmpInfo(file, NAME).pixelOffset, 14 + 12 + 2 * 3);
    assertPixels(decodeBmp(file, NAME), [[palette[1], palette[0], palette[1]]]);
  });
});

/** Packs 5-bit red, 5- or 6-bit green and 5-bit blue into a 16-bit pixel value. */
function pack16(red: number, green: number, blue: number, greenBits: 5 | 6): number {
  return (red << (5 + greenBits)) | (green << 5) | blue;
}

describe('decodeBmp 16-bit images', () => {
  // 5-bit values scale to round(v * 255 / 31), 6-bit ones to round(v * 255 / 63).
  const rows555 = [
    [pack16(31, 0, 0, 5), pack16(0, 31, 0, 5), pack16(0, 0, 31, 5)],
    [pack16(16, 8, 1, 5), pack16(0, 0, 0, 5), pack16(31, 31, 31, 5) | 0x8000],
  ];
  const expected555: Rgb[][] = [
    [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ],
    [
      [132, 66, 8],
      [0, 0, 0],
      [255, 255, 255],
    ],
  ];

  test('BI_RGB means 5-5-5', () => {
    const file = writeBmp({ width: 3, rows: rows555, bitsPerPixel: 16 });
    assertPixels(decodeBmp(file, NAME), expected555);
  });

  const rows565 = [[pack16(31, 63, 31, 6), pack16(0, 32, 0, 6), pack16(1, 1, 1, 6)]];
  const expected565: Rgb[][] = [
    [
      [255, 255, 255],
      [0, 130, 0],
      [8, 4, 8],
    ],
  ];
  const masks565 = [0xf800, 0x07e0, 0x001f];

  test('5-6-5 masks after a 40-byte header', () => {
    const file = writeBmp({
      width: 3,
      rows: rows565,
      bitsPerPixel: 16,
      compression: BI_BITFIELDS,
      masks: masks565,
    });

    assert.equal(readBmpInfo(file, NAME).pixelOffset, 14 + 40 + 12);
    assertPixels(decodeBmp(file, NAME), expected565);
  });

  test('5-6-5 masks in a V3 header', () => {
    const file = writeBmp({
      width: 3,
      rows: rows565,
      bitsPerPixel: 16,
      compression: BI_BITFIELDS,
      masks: [...masks565, 0],
      headerSize: 56,
    });

    assert.equal(readBmpInfo(file, NAME).pixelOffset, 14 + 56);
    assertPixels(decodeBmp(file, NAME), expected565);
  });
});

describe('decodeBmp 24-bit images', () => {
  const colors = [0xff0000, 0x00ff00, 0x0000ff, 0x123456, 0xfedcba];

  for (let width = 1; width <= 5; width++) {
    test(`bottom-up, width ${width}`, () => {
      const rows = [colors.slice(0, width), colors.slice(5 - width), colors.slice(0, width)];
      rows[2][0] = 0x010203;
      const file = writeBmp({ width, rows, bitsPerPixel: 24 });
      assertPixels(decodeBmp(file, NAME), toRgb(rows));
    });
  }

  test('top-down, width 3', () => {
    const rows = [
      [0x010203, 0x040506, 0x070809],
      [0xa0b0c0, 0xd0e0f0, 0xffffff],
    ];
    const file = writeBmp({ width: 3, rows, bitsPerPixel: 24, topDown: true });

    assert.equal(readBmpInfo(file, NAME).topDown, true);
    assertPixels(decodeBmp(file, NAME), toRgb(rows));
  });

  const rows = [
    [0x112233, 0x445566, 0x778899],
    [0xaabbcc, 0xddeeff, 0x000000],
  ];

  for (const [headerSize, pixelOffset] of [
    [108, 122],
    [124, 138],
  ] as const) {
    test(`${headerSize}-byte header, pixels at ${pixelOffset}`, () => {
      const file = writeBmp({ width: 3, rows, bitsPerPixel: 24, headerSize });

      assert.equal(readBmpInfo(file, NAME).pixelOffset, pixelOffset);
      assertPixels(decodeBmp(file, NAME), toRgb(rows));
    });
  }

  test('pixel offset past a gap', () => {
    const file = writeBmp({ width: 3, rows, bitsPerPixel: 24, gapBytes: 10 });

    assert.equal(readBmpInfo(file, NAME).pixelOffset, 64);
    assertPixels(decodeBmp(file, NAME), toRgb(rows));
  });

  test('core header', () => {
    const file = writeBmp({ width: 3, rows, bitsPerPixel: 24, headerSize: 12 });

    const info = readBmpInfo(file, NAME);
    assert.equal(info.headerSize, 12);
    assert.equal(info.pixelOffset, 26);
    assertPixels(decodeBmp(file, NAME), toRgb(rows));
  });
});

describe('decodeBmp 32-bit images', () => {
  test('BI_RGB ignores the fourth byte', () => {
    const rows = [
      [0xff112233, 0x00445566],
      [0x80778899, 0x7faabbcc],
    ];
    const file = writeBmp({ width: 2, rows, bitsPerPixel: 32 });
    assertPixels(decodeBmp(file, NAME), toRgb(rows.map((row) => row.map((v) => v & 0xffffff))));
  });

  test('bitfields with RGBA byte order', () => {
    // Masks that use bit 31, stored as bytes A, B, G, R.
    const rows = [[0x11223344, 0xffeeddcc]];
    const file = writeBmp({
      width: 2,
      rows,
      bitsPerPixel: 32,
      compression: BI_BITFIELDS,
      masks: [0xff000000, 0x00ff0000, 0x0000ff00],
    });
    assertPixels(decodeBmp(file, NAME), [
      [
        [0x11, 0x22, 0x33],
        [0xff, 0xee, 0xdd],
      ],
    ]);
  });

  test('10-10-10 bitfields keep top 8 bits', () => {
    const pack = (red: number, green: number, blue: number) => (red << 20) | (green << 10) | blue;
    const rows = [[pack(1023, 512, 3), pack(0, 1020, 1019)]];
    const file = writeBmp({
      width: 2,
      rows,
      bitsPerPixel: 32,
      compression: BI_BITFIELDS,
      masks: [0x3ff00000, 0x000ffc00, 0x000003ff],
    });
    assertPixels(decodeBmp(file, NAME), [
      [
        [255, 128, 0],
        [0, 255, 254],
      ],
    ]);
  });

  test('BI_ALPHABITFIELDS after a 40-byte header', () => {
    const rows = [[0x80ff8000, 0x01000000 | 0x0000ff]];
    const file = writeBmp({
      width: 2,
      rows,
      bitsPerPixel: 32,
      compression: BI_ALPHABITFIELDS,
      masks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000],
    });

    assert.equal(readBmpInfo(file, NAME).pixelOffset, 14 + 40 + 16);
    assertPixels(decodeBmp(file, NAME), [
      [
        [255, 128, 0],
        [0, 0, 255],
      ],
    ]);
  });

  test('bitfields in a V2 header', () => {
    const rows = [[0x00123456], [0x00abcdef]];
    const file = writeBmp({
      width: 1,
      rows,
      bitsPerPixel: 32,
      compression: BI_BITFIELDS,
      masks: [0x000000ff, 0x0000ff00, 0x00ff0000],
      headerSize: 52,
      topDown: true,
    });
    assertPixels(decodeBmp(file, NAME), [[[0x56, 0x34, 0x12]], [[0xef, 0xcd, 0xab]]]);
  });
});

describe('readBmpInfo', () => {
  test('returns the header fields', () => {
    const file = writeBmp({
      width: 3,
      rows: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      bitsPerPixel: 32,
      compression: BI_BITFIELDS,
      masks: [0xff0000, 0xff00, 0xff, 0],
      headerSize: 108,
      topDown: true,
    });

    assert.deepEqual(readBmpInfo(file, NAME), {
      width: 3,
      height: 2,
      topDown: true,
      bitsPerPixel: 32,
      compression: BI_BITFIELDS,
      headerSize: 108,
      pixelOffset: 122,
    });
  });

  test('rejects RLE8 like decodeBmp', () => {
    const file = writeBmp({ width: 2, rows: [[0, 0]], bitsPerPixel: 8, compression: BI_RLE8 });
    assert.throws(() => readBmpInfo(file, NAME), /BI_RLE8 compression is not supported/);
  });
});

/** Returns a valid 4x3 24-bit bottom-up BMP with a 40-byte header, pixels at offset 54. */
function validBmp(): Buffer {
  const row = [0x102030, 0x405060, 0x708090, 0xa0b0c0];
  return writeBmp({ width: 4, rows: [row, row, row], bitsPerPixel: 24 });
}

/** Asserts that decoding fails with an ImageDecodeError that names the file and the problem. */
function assertRejected(file: Uint8Array, problem: RegExp): void {
  assert.throws(
    () => decodeBmp(file, NAME),
    (error: unknown) => {
      assert.ok(
        error instanceof ImageDecodeError,
        `expected ImageDecodeError, got ${String(error)}`,
      );
      assert.match(error.message, /^fixture\.bmp: /);
      assert.match(error.message, problem);
      return true;
    },
  );
}

describe('decodeBmp rejects', () => {
  test('wrong magic bytes', () => {
    const file = validBmp();
    file.write('XY', 0, 'latin1');
    assertRejected(file, /not a BMP file: expected the magic bytes "BM", found 58 59/);
  });

  test('empty file', () => {
    assertRejected(new Uint8Array(0), /not a BMP file.*found nothing/);
  });

  test('truncated file header', () => {
    assertRejected(validBmp().subarray(0, 10), /truncated header: the file has only 10 bytes/);
  });

  test('truncated info header', () => {
    assertRejected(validBmp().subarray(0, 40), /truncated header: a 40-byte header needs/);
  });

  test('truncated bitfield masks', () => {
    const file = writeBmp({
      width: 1,
      rows: [[0]],
      bitsPerPixel: 16,
      compression: BI_BITFIELDS,
      masks: [0xf800, 0x07e0, 0x001f],
    });
    assertRejected(file.subarray(0, 60), /truncated header: the BI_BITFIELDS masks end at byte 66/);
  });

  test('unsupported header size', () => {
    const file = validBmp();
    file.writeUInt32LE(20, 14);
    assertRejected(file, /unsupported BMP header size 20/);
  });

  for (const [compression, label] of [
    [BI_RLE8, 'BI_RLE8'],
    [BI_RLE4, 'BI_RLE4'],
    [BI_JPEG, 'BI_JPEG'],
    [BI_PNG, 'BI_PNG'],
  ] as const) {
    test(`${label} compression`, () => {
      const file = validBmp();
      file.writeUInt32LE(compression, 30);
      assertRejected(file, new RegExp(`${label} compression is not supported`));
    });
  }

  test('unknown compression type', () => {
    const file = validBmp();
    file.writeUInt32LE(11, 30);
    assertRejected(file, /unknown BMP compression type 11/);
  });

  for (const width of [0, -4]) {
    test(`width ${width}`, () => {
      const file = validBmp();
      file.writeInt32LE(width, 18);
      assertRejected(file, new RegExp(`invalid width ${width}`));
    });
  }

  test('height 0', () => {
    const file = validBmp();
    file.writeInt32LE(0, 22);
    assertRejected(file, /invalid height 0/);
  });

  for (const depth of [0, 2, 12, 48]) {
    test(`bit depth ${depth}`, () => {
      const file = validBmp();
      file.writeUInt16LE(depth, 28);
      assertRejected(file, new RegExp(`unsupported bit depth ${depth}`));
    });
  }

  test('16-bit core header', () => {
    const file = writeBmp({ width: 1, rows: [[0]], bitsPerPixel: 16, headerSize: 12 });
    assertRejected(file, /unsupported bit depth 16; supported are 1, 4, 8, 24/);
  });

  test('bitfields on 24-bit pixels', () => {
    const file = validBmp();
    file.writeUInt32LE(BI_BITFIELDS, 30);
    assertRejected(file, /BI_BITFIELDS needs 16 or 32 bits per pixel, but the header gives 24/);
  });

  test('non-contiguous mask', () => {
    const file = writeBmp({
      width: 1,
      rows: [[0]],
      bitsPerPixel: 32,
      compression: BI_BITFIELDS,
      masks: [0x00ff00ff, 0x0000ff00, 0x000000ff],
    });
    assertRejected(file, /invalid channel mask 0x00ff00ff/);
  });

  test('mask outside a 16-bit pixel', () => {
    const file = writeBmp({
      width: 1,
      rows: [[0]],
      bitsPerPixel: 16,
      compression: BI_BITFIELDS,
      masks: [0x1f0000, 0x07e0, 0x001f],
    });
    assertRejected(file, /invalid channel mask 0x1f0000.*16-bit pixel/);
  });

  test('all masks zero', () => {
    const file = writeBmp({
      width: 1,
      rows: [[0]],
      bitsPerPixel: 16,
      compression: BI_BITFIELDS,
      masks: [0, 0, 0],
    });
    assertRejected(file, /masks are all zero/);
  });

  test('truncated pixel data', () => {
    // 4x3 at 24 bits: rows of 12 bytes, so 36 bytes from offset 54.
    assertRejected(
      validBmp().subarray(0, 54 + 30),
      /pixel data is truncated: a 4x3 24-bit image needs 36 bytes from offset 54, but the file has 30/,
    );
  });

  test('pixel offset past the end', () => {
    const file = validBmp();
    file.writeUInt32LE(5000, 10);
    assertRejected(file, /needs 36 bytes from offset 5000, but the file has 0 bytes there/);
  });

  test('pixel offset inside the headers', () => {
    const file = validBmp();
    file.writeUInt32LE(40, 10);
    assertRejected(file, /pixel data offset 40 points inside the headers, which end at byte 54/);
  });

  test('palette image without a palette', () => {
    const file = writeBmp({ width: 4, rows: [[0, 0, 0, 0]], bitsPerPixel: 8 });
    assertRejected(file, /the 8-bit image has no color table/);
  });

  test('message without a file name', () => {
    assert.throws(() => decodeBmp(new Uint8Array([1, 2])), /^ImageDecodeError: image: not a BMP/);
  });
});

/** Returns a 60-byte BMP whose 40-byte header claims the given size, far more than it has. */
function hugeClaim(width: number, height: number): Buffer {
  const file = validBmp().subarray(0, 60);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  return file;
}

describe('decodeBmp size limits', () => {
  test('100000x100000 in 60 bytes', () => {
    assertRejected(hugeClaim(100_000, 100_000), /image size 100000x100000 exceeds the maximum/);
  });

  test('height over 16384', () => {
    assertRejected(hugeClaim(10, -16_385), /image size 10x16385 exceeds the maximum of 16384/);
  });

  test('over 100 million pixels', () => {
    assertRejected(hugeClaim(10_001, 10_001), /exceeds the maximum of 100000000 pixels/);
  });

  test('allowed size, missing data, no allocation', () => {
    // 16000x6000 is within the limits, so a decoder that allocated before checking the file
    // length would take 288 MB here.
    const file = hugeClaim(16_000, 6_000);
    const before = process.memoryUsage().arrayBuffers;

    assertRejected(file, /pixel data is truncated: a 16000x6000 24-bit image needs/);

    const grownBy = process.memoryUsage().arrayBuffers - before;
    assert.ok(grownBy < 16 * 1024 * 1024, `array buffers grew by ${grownBy} bytes`);
  });
});
