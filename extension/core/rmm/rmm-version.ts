import { readFileSync } from 'node:fs';
import path from 'node:path';

/** TF-RMM releases grouped by the shape of the handler table and the function id prefix. */
export type RmmVersionFamily = 'v0.1-v0.2' | 'v0.3-v0.5' | 'v0.6+';

/** Reads the version from TF-RMM's top CMakeLists.txt: `project(RMM VERSION 0.4.0 ...)`. */
export function parseRmmCmakeVersion(text: string): string | undefined {
  return /\bproject\s*\(\s*RMM\s+VERSION\s+(\d+\.\d+\.\d+)/i.exec(text)?.[1];
}

/** Maps a TF-RMM version such as `0.4.0` to its family, or undefined for an invalid version. */
export function rmmVersionFamily(version: string): RmmVersionFamily | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(version.trim());
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major > 0 || minor >= 6) return 'v0.6+';
  return minor >= 3 ? 'v0.3-v0.5' : 'v0.1-v0.2';
}

/**
 * Detects the TF-RMM version of a checkout from the path of its `runtime/core/handler.c`:
 * the checkout's CMakeLists.txt is three folders up. Returns undefined when it is not there.
 */
export function detectRmmVersion(handlerFile: string): string | undefined {
  const cmake = path.join(path.dirname(handlerFile), '..', '..', 'CMakeLists.txt');
  try {
    return parseRmmCmakeVersion(readFileSync(cmake, 'utf8'));
  } catch {
    return undefined;
  }
}
