// Installs into the test cache atomically: a folder counts as installed only once its marker
// file exists, so an interrupted install is redone on the next run.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const INSTALL_MARKER = '.cca-install-complete';

/**
 * Runs `install` into a staging folder beside `finalDir`, writes the marker there, and renames
 * it into place. Returns 'cached' without running `install` when the marker is there and
 * `isUsable()` agrees, otherwise 'installed'.
 */
export async function installOnce(finalDir, install, isUsable = () => true) {
  if (existsSync(path.join(finalDir, INSTALL_MARKER)) && isUsable()) return 'cached';

  const stagingDir = `${finalDir}.partial-${process.pid}`;
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(stagingDir, { recursive: true });
  try {
    await install(stagingDir);
    await writeFile(path.join(stagingDir, INSTALL_MARKER), `${new Date().toISOString()}\n`);
    await rm(finalDir, { recursive: true, force: true });
    await rename(stagingDir, finalDir);
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    throw error;
  }
  return 'installed';
}
