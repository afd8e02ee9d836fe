import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * TF-RMM releases grouped by their handler table, log format and RMI numbering:
 *
 * - `v0.1-v0.2`: `HANDLER_0`..`HANDLER_5` entries, `SMC_RMM_` names, RMM 1.0-Beta0 arguments.
 * - `v0.3-v0.5`: six-argument `HANDLER` entries, `SMC_RMM_` names.
 * - `v0.6-v0.7`: `SMC_RMI_` names, the first RMM 1.1 status codes.
 * - `v0.8`: the log pads names to 25 columns after the prefix (21 before), RMM 1.1 statuses.
 * - `v0.9+`: RMM 2.0 function ids, and on main after v0.9.0 `_out` counts X0 too.
 */
export type RmmVersionFamily = 'v0.1-v0.2' | 'v0.3-v0.5' | 'v0.6-v0.7' | 'v0.8' | 'v0.9+';

/** Every family, oldest first. */
export const RMM_VERSION_FAMILIES: readonly RmmVersionFamily[] = [
  'v0.1-v0.2',
  'v0.3-v0.5',
  'v0.6-v0.7',
  'v0.8',
  'v0.9+',
];

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
  if (major > 0 || minor >= 9) return 'v0.9+';
  if (minor === 8) return 'v0.8';
  if (minor >= 6) return 'v0.6-v0.7';
  return minor >= 3 ? 'v0.3-v0.5' : 'v0.1-v0.2';
}

/** Returns true when the text is one of the family names, such as `v0.6-v0.7`. */
export function isRmmVersionFamily(text: string): text is RmmVersionFamily {
  return (RMM_VERSION_FAMILIES as readonly string[]).includes(text);
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
