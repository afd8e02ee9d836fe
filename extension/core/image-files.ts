import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** File extensions of the images the client accepts; other files in a folder are skipped. */
export const imageExtensions = ['.bmp', '.png', '.jpg', '.jpeg'];

/** Returns true for a file name with one of `imageExtensions`, in any letter case. */
export function isImageFile(fileName: string): boolean {
  return imageExtensions.includes(path.extname(fileName).toLowerCase());
}

/** Raised for an image path that does not exist. */
export class ImageSourceNotFoundError extends Error {}

/**
 * Lists the images a path names: the file itself, or the images directly inside a folder
 * (not its subfolders), sorted by name with numbers in numeric order.
 */
export function listImages(source: string): string[] {
  if (!existsSync(source))
    throw new ImageSourceNotFoundError(`Image or folder not found: ${source}`);
  if (!statSync(source).isDirectory()) return [path.resolve(source)];
  return readdirSync(source)
    .filter(isImageFile)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => path.resolve(source, name));
}
