import { decode as decodeJpegData } from 'jpeg-js';
import { PNG, type PNGWithMetadata } from 'pngjs';
import { BI_RGB, compressionName, decodeBmp, encodeBmp24, readBmpInfo, type BmpInfo } from './bmp';
import { MAX_IMAGE_PIXELS, checkImageSize, rejectImage, type RgbImage } from './types';

export type ImageFormat = 'bmp' | 'png' | 'jpeg';

/** A file for the realm, which reads only uncompressed 24-bit BMPs correctly. */
export interface RealmInput {
  bytes: Buffer;
  /** False when `bytes` is the input itself, true when it is a newly encoded 24-bit BMP. */
  converted: boolean;
  /** Reason for the conversion, such as "8-bit palette BMP" or "PNG". */
  reason?: string;
}

const BMP_MAGIC = [0x42, 0x4d];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_IHDR = [0x49, 0x48, 0x44, 0x52];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const SUPPORTED_FORMATS = '.bmp, .png and .jpg/.jpeg';

/** Memory limit for one jpeg-js decode. jpeg-js rejects a file that would exceed it. */
const JPEG_MAX_MEMORY_MB = 512;

/** Identifies BMP, PNG or JPEG data by its first bytes. Returns undefined for anything else. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, BMP_MAGIC)) {
    return 'bmp';
  }
  if (startsWith(bytes, PNG_SIGNATURE)) {
    return 'png';
  }
  if (startsWith(bytes, JPEG_MAGIC)) {
    return 'jpeg';
  }
  return undefined;
}

/** Decodes a BMP, PNG or JPEG file, chosen by its magic bytes, to RGB. */
export function decodeImage(bytes: Uint8Array, name?: string): RgbImage {
  const format = detectImageFormat(bytes);
  switch (format) {
    case 'bmp':
      return decodeBmp(bytes, name);
    case 'png':
      return decodePng(bytes, name);
    case 'jpeg':
      return decodeJpeg(bytes, name);
    case undefined:
      return rejectUnknownFormat(bytes, name);
  }
}

/**
 * Returns a file that the realm decodes correctly. The realm binary uses TensorFlow Lite's
 * label_image BMP reader (read_bmp in bitmap_helpers.cc). That reader takes width and height
 * as 32-bit values at offsets 18 and 22 and the bit depth as a 32-bit value at offset 28, so
 * it misreads a core header or a nonzero compression field. It also takes 8-bit pixels as
 * raw palette indices and 32-bit pixels as BGRA. An uncompressed 24-bit BMP with a header of
 * 40 bytes or more is therefore returned unchanged (the same memory, not a copy). Any other
 * valid image is re-encoded as a 24-bit BMP of the same size.
 * Throws ImageDecodeError for a file that is not a valid BMP, PNG or JPEG.
 */
export function prepareRealmInput(bytes: Uint8Array, name?: string): RealmInput {
  const format = detectImageFormat(bytes);
  if (format !== 'bmp') {
    const image = decodeImage(bytes, name);
    const reason = format === 'png' ? 'PNG' : 'JPEG';
    return { bytes: encodeBmp24(image), converted: true, reason };
  }

  // For a 24-bit BI_RGB file, readBmpInfo checks all that decodeBmp would: the headers, and
  // that the file contains every pixel row. So a file that passes cannot make the realm read
  // past its end.
  const info = readBmpInfo(bytes, name);
  const reason = findRealmIncompatibility(info);
  if (reason === undefined) {
    const original = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { bytes: original, converted: false };
  }
  return { bytes: encodeBmp24(decodeBmp(bytes, name)), converted: true, reason };
}

/** Returns why the realm's BMP reader would misread a valid BMP, or undefined if it would not. */
function findRealmIncompatibility(info: BmpInfo): string | undefined {
  const depth = `${info.bitsPerPixel}-bit`;
  if (info.headerSize < 40) {
    return `${depth} BMP with a ${info.headerSize}-byte core header`;
  }
  if (info.compression !== BI_RGB) {
    return `${depth} ${compressionName(info.compression)} BMP`;
  }
  if (info.bitsPerPixel <= 8) {
    return `${depth} palette BMP`;
  }
  if (info.bitsPerPixel !== 24) {
    return `${depth} BMP`;
  }
  return undefined;
}

function decodePng(bytes: Uint8Array, name: string | undefined): RgbImage {
  // IHDR must be the first chunk, so its big-endian width and height are at bytes 16 to 23.
  // Checking them first keeps pngjs from allocating for absurd sizes.
  if (bytes.length < 24 || !startsWith(bytes.subarray(12), PNG_IHDR)) {
    rejectImage(name, 'invalid PNG: the IHDR header chunk is missing or truncated');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkImageSize(view.getUint32(16), view.getUint32(20), name);

  let png: PNGWithMetadata;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    rejectImage(name, `invalid PNG: ${errorMessage(error)}`);
  }

  // pngjs 7 expands palette and grayscale images and scales 16-bit samples, so `data` is
  // always 8-bit RGBA.
  if (png.data.length !== png.width * png.height * 4) {
    rejectImage(
      name,
      `invalid PNG: decoded ${png.data.length} bytes for ${png.width}x${png.height}`,
    );
  }
  return { width: png.width, height: png.height, data: dropAlpha(png.data) };
}

function decodeJpeg(bytes: Uint8Array, name: string | undefined): RgbImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = decodeJpegData(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1_000_000,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
  } catch (error) {
    rejectImage(name, `invalid JPEG: ${errorMessage(error)}`);
  }

  // jpeg-js 0.4 bounds the pixel count only, so the per-side limit is checked here.
  checkImageSize(decoded.width, decoded.height, name);
  return { width: decoded.width, height: decoded.height, data: decoded.data };
}

// NOTE: alpha is dropped, not composited over a background, so a fully transparent pixel
// decodes to whatever color it stores.
function dropAlpha(rgba: Uint8Array): Uint8Array {
  const pixelCount = rgba.length / 4;
  const rgb = new Uint8Array(pixelCount * 3);
  let source = 0;
  let target = 0;
  for (let i = 0; i < pixelCount; i++) {
    rgb[target++] = rgba[source];
    rgb[target++] = rgba[source + 1];
    rgb[target++] = rgba[source + 2];
    source += 4;
  }
  return rgb;
}

function rejectUnknownFormat(bytes: Uint8Array, name: string | undefined): never {
  if (bytes.length === 0) {
    rejectImage(name, `the file is empty; supported formats are ${SUPPORTED_FORMATS}`);
  }
  const firstBytes = Array.from(bytes.subarray(0, 4), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join(' ');
  rejectImage(
    name,
    `the contents are not a BMP, PNG or JPEG image (first bytes ${firstBytes}); supported formats are ${SUPPORTED_FORMATS}`,
  );
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
