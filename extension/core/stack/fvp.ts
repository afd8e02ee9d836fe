// Finding the FVP that boot.sh runs: the folder in FVP_DIR (or the setting), or the binary in
// MODEL for releases before 2023.12.22, with `~` and variables expanded and the binary checked.

import fs from 'node:fs';
import path from 'node:path';
import type { FvpVariable } from './commands';
import { expandPath, fvpBinaryName, PathExpansionError } from './layout';

/** The origin of the FVP's location: the setting or an environment variable. */
export type FvpSource = 'setting' | 'FVP_DIR' | 'MODEL';

/** The FVP found: the variable for boot.sh, the binary, and where the value came from. */
export interface FvpLocation {
  variable: FvpVariable;
  binary: string;
  source: FvpSource;
}

/** Options of {@link locateFvp}. */
export interface FvpOptions {
  /** The ccaRealmStudio.stack.fvpDir setting, before expansion. */
  fvpDir?: string;
  env: NodeJS.ProcessEnv;
  home: string;
}

/** An FVP that cannot be used, with the fix. */
export class FvpNotFoundError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
    this.name = 'FvpNotFoundError';
  }
}

const fvpDownloadFix =
  `Download the Armv-A Base RevC AEM FVP for Linux from Arm's Ecosystem FVP page, unpack it, ` +
  `and set ccaRealmStudio.stack.fvpDir to the folder that holds ${fvpBinaryName}.`;

/**
 * Finds the FVP from the fvpDir setting, else the FVP_DIR variable, else MODEL (the binary
 * itself, for releases before 2023.12.22). `~` and variables in the value are expanded, and
 * the binary must exist and be executable.
 *
 * @throws FvpNotFoundError with what is wrong and the fix.
 */
export async function locateFvp(options: FvpOptions): Promise<FvpLocation> {
  const setting = options.fvpDir?.trim();
  let source: FvpSource;
  let raw: string;
  if (setting) [source, raw] = ['setting', setting];
  else if (options.env.FVP_DIR) [source, raw] = ['FVP_DIR', options.env.FVP_DIR];
  else if (options.env.MODEL) [source, raw] = ['MODEL', options.env.MODEL];
  else {
    throw new FvpNotFoundError(
      'No FVP is configured: ccaRealmStudio.stack.fvpDir is empty and FVP_DIR and MODEL are not set.',
      fvpDownloadFix,
    );
  }
  const origin = source === 'setting' ? 'ccaRealmStudio.stack.fvpDir' : source;

  let value: string;
  try {
    value = expandPath(raw, options.env, options.home);
  } catch (error) {
    if (!(error instanceof PathExpansionError)) throw error;
    throw new FvpNotFoundError(`${origin}: ${error.message}`, `Correct ${origin}.`);
  }
  if (!path.isAbsolute(value)) {
    throw new FvpNotFoundError(
      `${origin} is '${raw}', which is not an absolute path.`,
      `Set ${origin} to an absolute path (\`~\` and variables are expanded).`,
    );
  }
  return source === 'MODEL'
    ? checkModelBinary(value, raw)
    : checkFvpFolder(value, raw, source, origin);
}

async function checkModelBinary(binary: string, raw: string): Promise<FvpLocation> {
  const stat = await fs.promises.stat(binary).catch(() => undefined);
  if (stat?.isDirectory()) {
    throw new FvpNotFoundError(
      `MODEL is the folder ${binary}; MODEL names the FVP binary itself.`,
      `Set MODEL to ${path.join(binary, fvpBinaryName)}, or set FVP_DIR to the folder instead.`,
    );
  }
  await requireExecutable(binary, `MODEL ('${raw}')`);
  return { variable: { name: 'MODEL', value: binary }, binary, source: 'MODEL' };
}

async function checkFvpFolder(
  folder: string,
  raw: string,
  source: FvpSource,
  origin: string,
): Promise<FvpLocation> {
  const stat = await fs.promises.stat(folder).catch(() => undefined);
  if (!stat) {
    throw new FvpNotFoundError(
      `${origin} is '${raw}', and ${folder} does not exist.`,
      fvpDownloadFix,
    );
  }
  if (!stat.isDirectory()) {
    throw new FvpNotFoundError(
      `${origin} is '${raw}', which is a file, not the folder that contains ${fvpBinaryName}.`,
      `Set ${origin} to ${path.dirname(folder)}.`,
    );
  }
  const binary = path.join(folder, fvpBinaryName);
  if (!(await fs.promises.stat(binary).catch(() => undefined))) {
    const nested = await findBelow(folder, fvpBinaryName, 4);
    const fix = nested
      ? `The FVP package has it at ${nested}: set ${origin} to ${path.dirname(nested)}.`
      : fvpDownloadFix;
    throw new FvpNotFoundError(`${folder} (from ${origin}) has no ${fvpBinaryName}.`, fix);
  }
  await requireExecutable(binary, `${origin} ('${raw}')`);
  return { variable: { name: 'FVP_DIR', value: folder }, binary, source };
}

async function requireExecutable(binary: string, origin: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(binary);
  } catch {
    throw new FvpNotFoundError(`${binary} (from ${origin}) does not exist.`, fvpDownloadFix);
  }
  if (!stat.isFile()) {
    throw new FvpNotFoundError(`${binary} (from ${origin}) is not a file.`, fvpDownloadFix);
  }
  try {
    await fs.promises.access(binary, fs.constants.X_OK);
  } catch {
    throw new FvpNotFoundError(
      `${binary} (from ${origin}) is not executable.`,
      `Make it executable: chmod +x '${binary}'.`,
    );
  }
}

/** Finds a file named `name` at most `depth` folders below `folder` (the FVP package layout). */
async function findBelow(folder: string, name: string, depth: number): Promise<string | undefined> {
  if (depth === 0) return undefined;
  const entries = await fs.promises.readdir(folder, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) {
      const inner = path.join(folder, entry.name);
      const candidate = path.join(inner, name);
      if (await fs.promises.stat(candidate).catch(() => undefined)) return candidate;
      const deeper = await findBelow(inner, name, depth - 1);
      if (deeper) return deeper;
    }
  }
  return undefined;
}
