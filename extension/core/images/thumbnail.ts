import { PNG } from 'pngjs';
import { decodeImage } from './decode';
import type { RgbImage } from './types';

/**
 * Decodes an image and returns a PNG of it scaled down to fit `maxSize` x `maxSize`, keeping the
 * aspect ratio. Webviews show PNG everywhere, and a small copy keeps the results view light.
 */
export function makeThumbnailPng(bytes: Uint8Array, name: string, maxSize = 128): Buffer {
  const image = decodeImage(bytes, name);
  const scale = Math.min(1, maxSize / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const small = scale < 1 ? shrink(image, width, height) : image;

  const png = new PNG({ width, height, colorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(small.data.buffer, small.data.byteOffset, small.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Scales down by averaging each output pixel's source box, which avoids aliasing. */
function shrink(image: RgbImage, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const xRatio = image.width / width;
  const yRatio = image.height / height;

  for (let y = 0; y < height; y++) {
    const top = Math.floor(y * yRatio);
    const bottom = Math.max(top + 1, Math.floor((y + 1) * yRatio));
    for (let x = 0; x < width; x++) {
      const left = Math.floor(x * xRatio);
      const right = Math.max(left + 1, Math.floor((x + 1) * xRatio));
      const sums = [0, 0, 0];
      for (let sy = top; sy < bottom; sy++) {
        let source = (sy * image.width + left) * 3;
        for (let sx = left; sx < right; sx++, source += 3) {
          sums[0] += image.data[source] ?? 0;
          sums[1] += image.data[source + 1] ?? 0;
          sums[2] += image.data[source + 2] ?? 0;
        }
      }
      const count = (bottom - top) * (right - left);
      const target = (y * width + x) * 3;
      data[target] = Math.round((sums[0] ?? 0) / count);
      data[target + 1] = Math.round((sums[1] ?? 0) / count);
      data[target + 2] = Math.round((sums[2] ?? 0) / count);
    }
  }
  return { width, height, data };
}
