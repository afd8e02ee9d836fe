// Locations of the test peers' files. setup.mjs builds them into the cache folder, outside the
// clone, and records in a manifest where the current ones are, so that the helpers that start
// the peers never need apt-cache.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../vscode-test/paths.mjs';

/** The folder of this file: the default telnet program and the guest's files live here. */
export const testPeersDir = import.meta.dirname;

/** Returns the peers' cache folder: `$CCA_TEST_CACHE/peers` (default ~/.cache/cca-realm-studio). */
export function peersCacheDir() {
  return path.join(cacheDir(), 'peers');
}

/** Returns the manifest that setup.mjs writes last, once every part is in place. */
export function manifestPath() {
  return path.join(peersCacheDir(), 'manifest.json');
}

/**
 * Reads the manifest: absolute paths of `kernelImage`, `initramfs`, `telnetd` (inetutils) and
 * `busybox` (the host's busybox-static), plus the Debian packages they came from. Throws with
 * the fix when setup has not run, or when a file it names is missing.
 */
export function readManifest() {
  const file = manifestPath();
  if (!existsSync(file)) {
    throw new Error(`${file} not found: run \`node scripts/test-peers/setup.mjs\` first`);
  }
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  for (const key of ['kernelImage', 'initramfs', 'telnetd', 'busybox']) {
    if (!manifest[key] || !existsSync(manifest[key])) {
      throw new Error(
        `${key} of ${file} (${manifest[key]}) not found: run \`node scripts/test-peers/setup.mjs\``,
      );
    }
  }
  return manifest;
}
