export { BI_BITFIELDS, BI_RGB, decodeBmp, encodeBmp24, readBmpInfo, type BmpInfo } from './bmp';
export {
  decodeImage,
  detectImageFormat,
  prepareRealmInput,
  type ImageFormat,
  type RealmInput,
} from './decode';
export { ImageDecodeError, MAX_IMAGE_DIMENSION, MAX_IMAGE_PIXELS, type RgbImage } from './types';
