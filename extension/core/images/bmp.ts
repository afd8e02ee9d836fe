import {
  DEFAULT_MASKS_16,
  DEFAULT_MASKS_32,
  decodePixels,
  type ChannelMasks,
  type ColorTable,
  type PixelLayout,
} from './bmp-pixels';
import { checkImageSize, rejectImage, type RgbImage } from './types';

/** The fields of a BMP file's headers that decide how its pixels are stored. */
export interface BmpInfo {
  width: number;
  /** Number of rows, always positive. The sign of the stored height is in `topDown`. */
  height: number;
  /** True when the header stores a negative height, so the first row in the file is the top. */
  topDown: boolean;
  bitsPerPixel: number;
  /** The biCompression value (BI_RGB for the 12-byte core header, which has no such field). */
  compression: number;
  /** Size of the DIB header in bytes: 12, 40, 52, 56, 108 or 124. */
  headerSize: number;
  /** bfOffBits: the file offset of the first pixel row. */
  pixelOffset: number;
}

// biCompression values, as defined in the Windows SDK header wingdi.h.
export const BI_RGB = 0;
export const BI_RLE8 = 1;
export const BI_RLE4 = 2;
export const BI_BITFIELDS = 3;
export const BI_JPEG = 4;
export const BI_PNG = 5;
export const BI_ALPHABITFIELDS = 6;

const COMPRESSION_NAMES = new Map<number, string>([
  [BI_RGB, 'BI_RGB'],
  [BI_RLE8, 'BI_RLE8'],
  [BI_RLE4, 'BI_RLE4'],
  [BI_BITFIELDS, 'BI_BITFIELDS'],
  [BI_JPEG, 'BI_JPEG'],
  [BI_PNG, 'BI_PNG'],
  [BI_ALPHABITFIELDS, 'BI_ALPHABITFIELDS'],
]);

const FILE_HEADER_SIZE = 14;
const CORE_HEADER_SIZE = 12;
const INFO_HEADER_SIZE = 40;
const BMP_HEADER_SIZES = [CORE_HEADER_SIZE, INFO_HEADER_SIZE, 52, 56, 108, 124];
const CORE_BIT_DEPTHS = [1, 4, 8, 24];
const INFO_BIT_DEPTHS = [1, 4, 8, 16, 24, 32];

/** Resolution written by encodeBmp24: 2835 pixels per metre is 72 dpi. */
const PIXELS_PER_METRE = 2835;

/** Everything decodeBmp needs, all checked against the file length. */
type BmpLayout = BmpInfo & PixelLayout;

/**
 * Parses and validates the headers of a BMP file without decoding its pixels. It also checks
 * that the file is long enough for the pixel rows that the headers claim.
 */
export function readBmpInfo(bytes: Uint8Array, name?: string): BmpInfo {
  const layout = parseLayout(bytes, name);
  return {
    width: layout.width,
    height: layout.height,
    topDown: layout.topDown,
    bitsPerPixel: layout.bitsPerPixel,
    compression: layout.compression,
    headerSize: layout.headerSize,
    pixelOffset: layout.pixelOffset,
  };
}

/** Decodes an uncompressed or bitfields BMP file to RGB. Alpha, if any, is dropped. */
export function decodeBmp(bytes: Uint8Array, name?: string): RgbImage {
  const layout = parseLayout(bytes, name);
  return { width: layout.width, height: layout.height, data: decodePixels(bytes, layout) };
}

/** Encodes an image as a 24-bit BMP: BITMAPINFOHEADER, bottom-up rows, pixels at offset 54. */
export function encodeBmp24(image: RgbImage): Buffer {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) {
    throw new RangeError(`cannot encode a BMP of size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(
      `image data has ${data.length} bytes, but a ${width}x${height} RGB image needs ${width * height * 3}`,
    );
  }

  const rowStride = Math.ceil((width * 3) / 4) * 4;
  const pixelBytes = rowStride * height;
  const pixelOffset = FILE_HEADER_SIZE + INFO_HEADER_SIZE;
  // Buffer.alloc zero-fills, which also writes the row padding and the unused header fields.
  const file = Buffer.alloc(pixelOffset + pixelBytes);

  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(pixelOffset, 10);
  file.writeUInt32LE(INFO_HEADER_SIZE, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(BI_RGB, 30);
  file.writeUInt32LE(pixelBytes, 34);
  file.writeInt32LE(PIXELS_PER_METRE, 38);
  file.writeInt32LE(PIXELS_PER_METRE, 42);

  let source = 0;
  for (let y = 0; y < height; y++) {
    let target = pixelOffset + (height - 1 - y) * rowStride;
    for (let x = 0; x < width; x++) {
      file[target++] = data[source + 2];
      file[target++] = data[source + 1];
      file[target++] = data[source];
      source += 3;
    }
  }
  return file;
}

/** Returns the wingdi.h name of a biCompression value, for messages and conversion reasons. */
export function compressionName(compression: number): string {
  return COMPRESSION_NAMES.get(compression) ?? `compression type ${compression}`;
}

// NOTE: the color space, gamma and ICC profile fields of V4 and V5 headers are ignored, so
// pixels are returned as stored, as if they were sRGB.
function parseLayout(bytes: Uint8Array, name: string | undefined): BmpLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { headerSize, pixelOffset } = readFileHeader(view, name);
  const isCore = headerSize === CORE_HEADER_SIZE;

  // The core header stores unsigned 16-bit sizes, so its rows are always bottom-up.
  const width = isCore ? view.getUint16(18, true) : view.getInt32(18, true);
  const storedHeight = isCore ? view.getUint16(20, true) : view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(isCore ? 24 : 28, true);
  const compression = isCore ? BI_RGB : view.getUint32(30, true);
  const colorsUsed = isCore ? 0 : view.getUint32(46, true);

  checkPixelFormat(headerSize, bitsPerPixel, compression, name);
  const height = Math.abs(storedHeight);
  checkImageSize(width, height, name);

  const { masks, headersEnd } = readMasks(view, headerSize, bitsPerPixel, compression, name);
  if (pixelOffset < headersEnd) {
    rejectImage(
      name,
      `pixel data offset ${pixelOffset} points inside the headers, which end at byte ${headersEnd}`,
    );
  }

  const rowStride = Math.ceil((bitsPerPixel * width) / 32) * 4;
  checkPixelDataLength(view.byteLength, pixelOffset, rowStride, width, height, bitsPerPixel, name);

  const colorTable =
    bitsPerPixel <= 8
      ? findColorTable(headersEnd, pixelOffset, isCore, bitsPerPixel, colorsUsed, name)
      : undefined;

  const topDown = storedHeight < 0;
  const info = { width, height, topDown, bitsPerPixel, compression, headerSize, pixelOffset };
  return { ...info, rowStride, colorTable, masks };
}

function readFileHeader(
  view: DataView,
  name: string | undefined,
): { headerSize: number; pixelOffset: number } {
  if (view.byteLength < 2 || view.getUint8(0) !== 0x42 || view.getUint8(1) !== 0x4d) {
    const head = new Uint8Array(view.buffer, view.byteOffset, Math.min(2, view.byteLength));
    const found = Array.from(head, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
    rejectImage(name, `not a BMP file: expected the magic bytes "BM", found ${found || 'nothing'}`);
  }
  if (view.byteLength < FILE_HEADER_SIZE + 4) {
    rejectImage(name, `truncated header: the file has only ${view.byteLength} bytes`);
  }

  const headerSize = view.getUint32(14, true);
  if (!BMP_HEADER_SIZES.includes(headerSize)) {
    rejectImage(
      name,
      `unsupported BMP header size ${headerSize}; supported are 12 (BITMAPCOREHEADER), ` +
        '40 (BITMAPINFOHEADER), 52, 56, 108 (BITMAPV4HEADER) and 124 (BITMAPV5HEADER)',
    );
  }
  if (view.byteLength < FILE_HEADER_SIZE + headerSize) {
    rejectImage(
      name,
      `truncated header: a ${headerSize}-byte header needs a file of at least ` +
        `${FILE_HEADER_SIZE + headerSize} bytes, but the file has ${view.byteLength}`,
    );
  }

  return { headerSize, pixelOffset: view.getUint32(10, true) };
}

// NOTE: RLE4, RLE8, embedded JPEG or PNG, 2-bit and 64-bit pixels, and the OS/2 2.x headers
// (16 and 64 bytes) are rejected with a message, not decoded.
function checkPixelFormat(
  headerSize: number,
  bitsPerPixel: number,
  compression: number,
  name: string | undefined,
): void {
  if ([BI_RLE8, BI_RLE4, BI_JPEG, BI_PNG].includes(compression)) {
    rejectImage(
      name,
      `${compressionName(compression)} compression is not supported; ` +
        'save the image as an uncompressed 24-bit BMP, a PNG or a JPEG',
    );
  }
  if (![BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression)) {
    rejectImage(
      name,
      `unknown BMP compression type ${compression}; supported are BI_RGB, BI_BITFIELDS and BI_ALPHABITFIELDS`,
    );
  }

  const depths = headerSize === CORE_HEADER_SIZE ? CORE_BIT_DEPTHS : INFO_BIT_DEPTHS;
  if (!depths.includes(bitsPerPixel)) {
    rejectImage(
      name,
      `unsupported bit depth ${bitsPerPixel}; supported are ${depths.join(', ')} bits per pixel`,
    );
  }
  if (compression !== BI_RGB && bitsPerPixel !== 16 && bitsPerPixel !== 32) {
    rejectImage(
      name,
      `${compressionName(compression)} needs 16 or 32 bits per pixel, but the header gives ${bitsPerPixel}`,
    );
  }
}

/**
 * Reads the channel masks of a 16- or 32-bit image. Headers of 52 bytes and more contain
 * them, and a 40-byte header is followed by them as 3 (or, for BI_ALPHABITFIELDS, 4) extra
 * DWORDs. Also returns where the headers and masks end, which is where a color table starts.
 */
function readMasks(
  view: DataView,
  headerSize: number,
  bitsPerPixel: number,
  compression: number,
  name: string | undefined,
): { masks: ChannelMasks | undefined; headersEnd: number } {
  const headerEnd = FILE_HEADER_SIZE + headerSize;
  if (compression === BI_RGB) {
    let masks: ChannelMasks | undefined;
    if (bitsPerPixel === 16) {
      masks = DEFAULT_MASKS_16;
    } else if (bitsPerPixel === 32) {
      masks = DEFAULT_MASKS_32;
    }
    return { masks, headersEnd: headerEnd };
  }

  const maskBytes = compression === BI_ALPHABITFIELDS ? 16 : 12;
  const headersEnd = headerSize === INFO_HEADER_SIZE ? headerEnd + maskBytes : headerEnd;
  if (view.byteLength < headersEnd) {
    rejectImage(
      name,
      `truncated header: the ${compressionName(compression)} masks end at byte ${headersEnd}, ` +
        `but the file has ${view.byteLength} bytes`,
    );
  }

  const offset = FILE_HEADER_SIZE + INFO_HEADER_SIZE;
  const masks = {
    red: view.getUint32(offset, true),
    green: view.getUint32(offset + 4, true),
    blue: view.getUint32(offset + 8, true),
  };
  if (masks.red === 0 && masks.green === 0 && masks.blue === 0) {
    rejectImage(name, `the ${compressionName(compression)} red, green and blue masks are all zero`);
  }
  for (const mask of [masks.red, masks.green, masks.blue]) {
    checkChannelMask(mask, bitsPerPixel, name);
  }
  return { masks, headersEnd };
}

/** Rejects a mask whose set bits are not one contiguous run inside the pixel. */
function checkChannelMask(mask: number, bitsPerPixel: number, name: string | undefined): void {
  const field = mask >>> (31 - Math.clz32(mask & -mask));
  const contiguous = (field & (field + 1)) === 0;
  if (mask !== 0 && (!contiguous || mask >= 2 ** bitsPerPixel)) {
    const hex = `0x${mask.toString(16).padStart(bitsPerPixel / 4, '0')}`;
    rejectImage(
      name,
      `invalid channel mask ${hex}: a mask must be one run of bits within the ${bitsPerPixel}-bit pixel`,
    );
  }
}

function checkPixelDataLength(
  fileLength: number,
  pixelOffset: number,
  rowStride: number,
  width: number,
  height: number,
  bitsPerPixel: number,
  name: string | undefined,
): void {
  // The last row needs no padding bytes because the decoders never read them.
  const needed = rowStride * (height - 1) + Math.ceil((bitsPerPixel * width) / 8);
  const available = Math.max(0, fileLength - pixelOffset);
  if (available < needed) {
    rejectImage(
      name,
      `pixel data is truncated: a ${width}x${height} ${bitsPerPixel}-bit image needs ${needed} ` +
        `bytes from offset ${pixelOffset}, but the file has ${available} bytes there`,
    );
  }
}

/**
 * Locates the color table of a 1-, 4- or 8-bit image. biClrUsed gives its size (0 means the
 * full 2^bpp entries), and a table that would run into the pixel data is cut at the pixel
 * offset, because some writers store fewer entries than the header implies.
 */
function findColorTable(
  offset: number,
  pixelOffset: number,
  isCore: boolean,
  bitsPerPixel: number,
  colorsUsed: number,
  name: string | undefined,
): ColorTable {
  const entrySize = isCore ? 3 : 4;
  const maxCount = 1 << bitsPerPixel;
  const declared = colorsUsed === 0 ? maxCount : Math.min(colorsUsed, maxCount);
  const count = Math.min(declared, Math.floor((pixelOffset - offset) / entrySize));
  if (count === 0) {
    rejectImage(
      name,
      `the ${bitsPerPixel}-bit image has no color table between byte ${offset} and the pixel data at ${pixelOffset}`,
    );
  }
  return { offset, entrySize, count };
}
