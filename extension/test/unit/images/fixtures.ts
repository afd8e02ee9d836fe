// Test-only writers for BMP and PNG files with exact control over every header field, so
// that the decoders can be checked against files whose bytes the tests know.
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import type { RgbImage } from '../../../core/images/types';

export type Rgb = [number, number, number];

export interface BmpFixture {
  width: number;
  /**
   * Raw pixel values, top row first: a palette index for 1 to 8 bits, 0xRRGGBB for 24 bits
   * (written as B, G, R), and a little-endian integer for 16 and 32 bits.
   */
  rows: number[][];
  bitsPerPixel: number;
  /** DIB header size, 40 by default. */
  headerSize?: 12 | 40 | 52 | 56 | 108 | 124;
  topDown?: boolean;
  compression?: number;
  /** Red, green, blue (and alpha) masks, written into the header or after a 40-byte one. */
  masks?: number[];
  palette?: Rgb[];
  /** biClrUsed, by default the palette length. */
  colorsUsed?: number;
  /** Bytes of junk between the headers and the pixel data. */
  gapBytes?: number;
}

/** Filler for row padding and gaps: nonzero, so that a decoder that reads it shows it. */
const FILLER = 0xab;

export function rowStrideOf(width: number, bitsPerPixel: number): number {
  return Math.ceil((width * bitsPerPixel) / 32) * 4;
}

export function writeBmp(fixture: BmpFixture): Buffer {
  const headerSize = fixture.headerSize ?? 40;
  const isCore = headerSize === 12;
  const masks = fixture.masks ?? [];
  const palette = fixture.palette ?? [];
  const entrySize = isCore ? 3 : 4;
  const height = fixture.rows.length;
  const stride = rowStrideOf(fixture.width, fixture.bitsPerPixel);

  const maskBytes = headerSize === 40 ? masks.length * 4 : 0;
  const paletteOffset = 14 + headerSize + maskBytes;
  const pixelOffset = paletteOffset + palette.length * entrySize + (fixture.gapBytes ?? 0);
  const file = Buffer.alloc(pixelOffset + stride * height, FILLER);

  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(0, 6);
  file.writeUInt32LE(pixelOffset, 10);
  writeDibHeader(file, fixture, headerSize, stride * height);
  masks.forEach((mask, i) => file.writeUInt32LE(mask, 54 + i * 4));

  palette.forEach(([red, green, blue], i) => {
    const entry = paletteOffset + i * entrySize;
    file[entry] = blue;
    file[entry + 1] = green;
    file[entry + 2] = red;
    if (!isCore) {
      file[entry + 3] = 0;
    }
  });

  fixture.rows.forEach((row, y) => {
    const storedRow = fixture.topDown === true ? y : height - 1 - y;
    const packed = packRow(row, fixture.bitsPerPixel);
    file.set(packed, pixelOffset + storedRow * stride);
  });
  return file;
}

function writeDibHeader(file: Buffer, fixture: BmpFixture, headerSize: number, imageSize: number) {
  const height = fixture.rows.length;
  file.fill(0, 14, 14 + headerSize);
  file.writeUInt32LE(headerSize, 14);
  if (headerSize === 12) {
    file.writeUInt16LE(fixture.width, 18);
    file.writeUInt16LE(height, 20);
    file.writeUInt16LE(1, 22);
    file.writeUInt16LE(fixture.bitsPerPixel, 24);
    return;
  }

  file.writeInt32LE(fixture.width, 18);
  file.writeInt32LE(fixture.topDown === true ? -height : height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(fixture.bitsPerPixel, 28);
  file.writeUInt32LE(fixture.compression ?? 0, 30);
  file.writeUInt32LE(imageSize, 34);
  file.writeInt32LE(2835, 38);
  file.writeInt32LE(2835, 42);
  file.writeUInt32LE(fixture.colorsUsed ?? fixture.palette?.length ?? 0, 46);
  if (headerSize >= 108) {
    // bV4CSType LCS_sRGB, as image editors write it.
    file.write('BGRs', 70, 'latin1');
  }
}

function packRow(row: number[], bitsPerPixel: number): Uint8Array {
  const bytes = new Uint8Array(Math.ceil((row.length * bitsPerPixel) / 8));
  row.forEach((value, x) => {
    if (bitsPerPixel < 8) {
      const bit = x * bitsPerPixel;
      bytes[bit >> 3] |= value << (8 - bitsPerPixel - (bit & 7));
      return;
    }
    const bytesPerPixel = bitsPerPixel / 8;
    for (let i = 0; i < bytesPerPixel; i++) {
      bytes[x * bytesPerPixel + i] = (value >>> (8 * i)) & 0xff;
    }
  });
  return bytes;
}

/** Writes one chunk of a PNG file: length, type, data and CRC over type and data. */
function pngChunk(type: string, data: Uint8Array): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  chunk.set(data, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

export interface PngFixture {
  width: number;
  height: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray with alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Raw scanlines without the filter byte, top row first. */
  scanlines: Uint8Array[];
  palette?: Rgb[];
}

/** Writes a non-interlaced PNG whose scanlines all use filter type 0 (None). */
export function writePng(fixture: PngFixture): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(fixture.width, 0);
  header.writeUInt32BE(fixture.height, 4);
  header[8] = fixture.bitDepth;
  header[9] = fixture.colorType;

  const raw = Buffer.concat(fixture.scanlines.map((line) => Buffer.concat([Buffer.of(0), line])));
  const chunks = [pngChunk('IHDR', header)];
  if (fixture.palette !== undefined) {
    chunks.push(pngChunk('PLTE', Uint8Array.from(fixture.palette.flat())));
  }
  chunks.push(pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0)));

  const signature = Buffer.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  return Buffer.concat([signature, ...chunks]);
}

/** Asserts the image size and every pixel, row by row, so a failure names the row. */
export function assertPixels(image: RgbImage, expected: Rgb[][]): void {
  assert.equal(image.height, expected.length, 'height');
  assert.equal(image.width, expected[0].length, 'width');
  assert.equal(image.data.length, image.width * image.height * 3, 'data length');
  expected.forEach((row, y) => {
    const start = y * image.width * 3;
    const actual = Array.from(image.data.subarray(start, start + image.width * 3));
    assert.deepEqual(actual, row.flat(), `row ${y}`);
  });
}

/** Converts rows of 0xRRGGBB values to RGB triples. */
export function toRgb(rows: number[][]): Rgb[][] {
  return rows.map((row) => row.map((value) => [value >>> 16, (value >>> 8) & 0xff, value & 0xff]));
}
