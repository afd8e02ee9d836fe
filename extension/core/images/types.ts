/** A decoded image: RGB, 3 bytes per pixel, rows from the top, no row padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An image file that is malformed, truncated, too large or in an unsupported format. */
export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

/**
 * Maximum width or height of an image. BMP and PNG headers are checked against it before
 * anything is allocated, so that a few bytes of header cannot request gigabytes of memory.
 */
export const MAX_IMAGE_DIMENSION = 16384;

/** Maximum number of pixels (width times height). At this limit the RGB output is 300 MB. */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** Returns the file name for error messages, or a generic one when the caller gave none. */
export function describeSource(name: string | undefined): string {
  return name ?? 'image';
}

/** Throws an ImageDecodeError whose message starts with the file name. */
export function rejectImage(name: string | undefined, problem: string): never {
  throw new ImageDecodeError(`${describeSource(name)}: ${problem}`);
}

/** Throws an ImageDecodeError unless width and height are positive and within the limits. */
export function checkImageSize(width: number, height: number, name: string | undefined): void {
  if (!Number.isInteger(width) || width <= 0) {
    rejectImage(name, `invalid width ${width}: the width must be a positive integer`);
  }
  if (!Number.isInteger(height) || height <= 0) {
    rejectImage(name, `invalid height ${height}: the height must be a positive integer`);
  }
  if (width > MAX_IMAGE_DIMENSION || height > MAX_IMAGE_DIMENSION) {
    rejectImage(
      name,
      `image size ${width}x${height} exceeds the maximum of ${MAX_IMAGE_DIMENSION} pixels per side; ` +
        'scale the image down before classifying it',
    );
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    rejectImage(
      name,
      `image size ${width}x${height} exceeds the maximum of ${MAX_IMAGE_PIXELS} pixels; ` +
        'scale the image down before classifying it',
    );
  }
}
