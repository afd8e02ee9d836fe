import { realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Returns why the emulated realm rejects an image path from the signalling file, or undefined
 * when the image is in the shared folder (the signalling file's folder). A path outside that
 * folder, or one that resolves outside it through a symbolic link, is rejected. Otherwise any
 * process that can write signalling.txt could make the realm open any file of this machine, and
 * learn from its error lines whether the file exists, its size and its first bytes. A missing
 * image inside the folder is not rejected here: the realm reports it as the realm binary does.
 */
export function findImageOutsideSharedFolder(
  imagePath: string,
  signallingFile: string,
): string | undefined {
  const folder = path.dirname(path.resolve(signallingFile));
  const image = path.resolve(imagePath);
  if (!isInside(folder, image)) return `it is outside the shared folder ${folder}`;

  let realFolder: string | undefined;
  let real: string | undefined;
  try {
    realFolder = resolveExisting(folder);
    // The nearest part of the path that exists, so that a missing file behind a link to another
    // folder is rejected too, rather than reported as missing.
    let probe = image;
    real = resolveExisting(probe);
    while (real === undefined && probe !== folder) {
      probe = path.dirname(probe);
      real = resolveExisting(probe);
    }
  } catch (error) {
    // A loop of links (ELOOP) or a folder that may not be searched (EACCES).
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return `its path cannot be resolved (${code})`;
  }
  if (realFolder === undefined || real === undefined) return undefined;
  if (!isInside(realFolder, real)) {
    return `it leads through a symbolic link to a file outside the shared folder ${folder}`;
  }
  return undefined;
}

function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/** Returns the path with every symbolic link resolved, or undefined when it does not exist. */
function resolveExisting(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}
