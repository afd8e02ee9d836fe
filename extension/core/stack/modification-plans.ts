// The product's three changes to the reference stack's scripts, each planned as a pure text
// transformation: installing the project's build-buildroot.sh, removing the kernel patch line
// from build-linux.sh, and adding the FVP's 9p root_path parameter to run_model.sh.
// modifications.ts reads the files and plans all three; modification-backups.ts applies and
// undoes the plans.

import path from 'node:path';
import { CONTROL_CHARACTER, parseShellWords, quoteShellWord } from './shell-words';

/** The three modifications, by id. */
export type ModificationId = 'buildroot-script' | 'linux-patch-line' | 'fvp-9p-root-path';

/** Each modification's file, relative to the stack root. */
export const MODIFICATION_FILES: Readonly<Record<ModificationId, string>> = Object.freeze({
  'buildroot-script': 'build-scripts/build-buildroot.sh',
  'linux-patch-line': 'build-scripts/build-linux.sh',
  'fvp-9p-root-path': 'model-scripts/aemfvp-a-rme/run_model.sh',
});

/** The order in which modifications are planned, shown and applied. */
export const MODIFICATION_IDS: readonly ModificationId[] = Object.freeze([
  'buildroot-script',
  'linux-patch-line',
  'fvp-9p-root-path',
]);

/** One modification of one file: its current text and the text after the change. */
export interface ModificationPlan {
  id: ModificationId;
  /** A short title for lists. */
  title: string;
  /** The file, relative to the stack root, with `/` separators. */
  file: string;
  current: string;
  next: string;
  /** False when the file already has the change: applying the plan writes nothing. */
  changed: boolean;
  /** Explanation of the change, or of why nothing needs to change. */
  description: string;
}

/** A file whose content does not have the shape a modification expects. */
export class ModificationShapeError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
  ) {
    super(`${file}: ${expected}`);
    this.name = 'ModificationShapeError';
  }
}

/** Every problem found while planning; no plan is returned, so nothing is written. */
export class ModificationsError extends Error {
  constructor(readonly problems: readonly ModificationShapeError[]) {
    super(
      `The stack's scripts cannot be modified; nothing was changed. ` +
        problems.map((problem) => problem.message).join(' '),
    );
    this.name = 'ModificationsError';
  }
}

const TITLES: Record<ModificationId, string> = {
  'buildroot-script': "Install the project's build-buildroot.sh",
  'linux-patch-line': 'Remove the kernel command-line patch from build-linux.sh',
  'fvp-9p-root-path': "Share a host folder through the FVP's 9p device",
};

/** Splits text into lines that keep their line ends (`\n` or `\r\n`). */
function splitKeepingEnds(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

function lineEnd(line: string): string {
  return /\r?\n$/.exec(line)?.[0] ?? '';
}

function withoutEnd(line: string): string {
  return line.slice(0, line.length - lineEnd(line).length);
}

function isComment(line: string): boolean {
  return line.trimStart().startsWith('#');
}

function plan(id: ModificationId, current: string, next: string, description: string) {
  return {
    id,
    title: TITLES[id],
    file: MODIFICATION_FILES[id],
    current,
    next,
    changed: current !== next,
    description,
  } satisfies ModificationPlan;
}

/**
 * Plans replacing the stack's build-buildroot.sh with the project's version, which also
 * builds the realm root file system with the project's realm/ folder and lays normal_world/
 * over the host root file system.
 */
export function planBuildrootScript(current: string, projectScript: string): ModificationPlan {
  const file = MODIFICATION_FILES['buildroot-script'];
  if (!projectScript.startsWith('#!')) {
    throw new ModificationShapeError(
      'stack-scripts/build-buildroot.sh',
      'expected the project script to start with "#!"; reinstall the extension.',
    );
  }
  const description =
    current === projectScript
      ? `${file} is already the project's version.`
      : `Replace ${file} with the project's version, which builds realm-fs.ext4 and ` +
        "realm-fs.cpio with the project's realm/ folder, puts them in /realm/ of the host " +
        "root file system, and lays the project's normal_world/ folder over it. The stack's " +
        'version is kept in the backup.';
  return plan('buildroot-script', current, projectScript, description);
}

const PATCH_COMMAND = ['git', 'apply', '--ignore-space-change', '--whitespace=warn'];
const PATCH_OPTIONS = ['--inaccurate-eof', '-v'];
const PATCH_VARIABLE = new Set([
  '$LINUX_CMD_LINE_EXTEND_PATCH',
  '${LINUX_CMD_LINE_EXTEND_PATCH}',
  '"$LINUX_CMD_LINE_EXTEND_PATCH"',
  '"${LINUX_CMD_LINE_EXTEND_PATCH}"',
]);
const PATCH_LINE_TEXT = [...PATCH_COMMAND, ...PATCH_OPTIONS, '$LINUX_CMD_LINE_EXTEND_PATCH'].join(
  ' ',
);

function isPatchLine(line: string): boolean {
  const tokens = line.trim().split(/\s+/);
  const expected = [...PATCH_COMMAND, ...PATCH_OPTIONS];
  return (
    tokens.length === expected.length + 1 &&
    expected.every((token, index) => tokens[index] === token) &&
    PATCH_VARIABLE.has(tokens[expected.length])
  );
}

/**
 * Plans removing the line that applies the kernel command-line patch in build-linux.sh. After
 * the first build the patch is already applied, so `git apply` fails and so does every later
 * build. The line is matched by its words (any spacing); every other byte is kept.
 */
export function planLinuxPatchLine(current: string): ModificationPlan {
  const file = MODIFICATION_FILES['linux-patch-line'];
  const lines = splitKeepingEnds(current);
  const matches: number[] = [];
  const lookalikes: number[] = [];
  lines.forEach((line, index) => {
    if (isComment(line)) return;
    if (isPatchLine(line)) matches.push(index);
    else if (/\bgit\s+apply\b/.test(line) && line.includes('LINUX_CMD_LINE_EXTEND_PATCH')) {
      lookalikes.push(index);
    }
  });

  if (matches.length > 1) {
    throw new ModificationShapeError(
      file,
      `expected one line "${PATCH_LINE_TEXT}", found ${matches.length} (lines ` +
        `${matches.map((index) => index + 1).join(', ')}); remove the extra ones by hand.`,
    );
  }
  if (matches.length === 0 && lookalikes.length > 0) {
    throw new ModificationShapeError(
      file,
      `line ${lookalikes[0] + 1} applies $LINUX_CMD_LINE_EXTEND_PATCH in an unknown form ` +
        `(expected "${PATCH_LINE_TEXT}"); remove or comment it out by hand.`,
    );
  }
  if (matches.length === 0) {
    return plan('linux-patch-line', current, current, `${file} no longer applies the patch.`);
  }

  const index = matches[0];
  const next = [...lines];
  next.splice(index, 1);
  // A removed last line without a line end takes the previous line's end with it, so that
  // the file keeps ending the way it did.
  if (lineEnd(lines[index]) === '' && index > 0) next[index - 1] = withoutEnd(next[index - 1]);
  return plan(
    'linux-patch-line',
    current,
    next.join(''),
    `Remove line ${index + 1} of ${file} ("${PATCH_LINE_TEXT}"): after the first build the ` +
      'patch is already applied, and applying it again makes every later build fail.',
  );
}

const ROOT_PATH_PARAMETER = 'bp.virtiop9device.root_path';
const ANCHOR = /gic_distributor\.extended-spi-count/;
const ROOT_PATH_LINE = /bp\.virtiop9device\.root_path\s*=/;

/**
 * Normalises a host folder for the FVP's root_path and quotes it for run_model.sh. Throws an
 * Error for a relative path or one with control characters, which a one-line shell word in
 * the script cannot carry safely.
 */
export function quoteShareFolder(folder: string): { folder: string; word: string } {
  if (folder.trim() === '') {
    throw new Error(
      'No share folder is set. Choose the host folder that the FVP shares with the normal ' +
        'world over 9p (setting ccaRealmStudio.stack.shareDir).',
    );
  }
  if (CONTROL_CHARACTER.test(folder)) {
    throw new Error(
      `The share folder ${JSON.stringify(folder)} contains a control character (such as a ` +
        'newline), which run_model.sh cannot hold safely. Choose a folder without one.',
    );
  }
  if (!path.posix.isAbsolute(folder)) {
    throw new Error(
      `The share folder "${folder}" is not an absolute path; the FVP resolves root_path from ` +
        'its own working folder. Give the full path (expand ~ first).',
    );
  }
  let normalised = path.posix.normalize(folder);
  if (normalised.length > 1) normalised = normalised.replace(/\/+$/, '');
  // NOTE: the word is safe for the shell; how the FVP itself treats spaces or commas inside a
  // -C value is not documented, so such folders are written but untested on a real FVP.
  return { folder: normalised, word: quoteShellWord(normalised) };
}

/**
 * Parses a `-C bp.virtiop9device.root_path=<value> \` line. The value is set when it is one
 * plain word.
 */
function rootPathValue(line: string): { value?: string; continued: boolean } | undefined {
  const match = /^[ \t]*-C[ \t]+(.*?)[ \t]*(\\?)[ \t]*$/.exec(withoutEnd(line));
  if (!match) return undefined;
  const continued = match[2] === '\\';
  try {
    const words = parseShellWords(match[1]);
    const prefix = `${ROOT_PATH_PARAMETER}=`;
    if (words.length === 1 && words[0].startsWith(prefix)) {
      return { value: words[0].slice(prefix.length), continued };
    }
    return words.length === 1 ? undefined : { continued };
  } catch {
    // A value with an expansion such as $HOME cannot be compared, so it is replaced.
    return { continued };
  }
}

/**
 * Plans adding `-C bp.virtiop9device.root_path=<folder> \` to run_model.sh after the
 * `gic_distributor.extended-spi-count` line, with that line's indentation and line end, or
 * replacing the value of an existing root_path line.
 */
export function planNinePRootPath(current: string, shareFolder: string): ModificationPlan {
  const file = MODIFICATION_FILES['fvp-9p-root-path'];
  const { folder, word } = quoteShareFolder(shareFolder);
  const lines = splitKeepingEnds(current);
  const anchors = findLines(lines, ANCHOR);
  const rootPaths = findLines(lines, ROOT_PATH_LINE);

  if (anchors.length !== 1) {
    throw new ModificationShapeError(
      file,
      anchors.length === 0
        ? 'expected a "-C ...gic_distributor.extended-spi-count=... \\" line, found none.'
        : `expected one gic_distributor.extended-spi-count line, found ${anchors.length}.`,
    );
  }
  if (rootPaths.length > 1) {
    throw new ModificationShapeError(
      file,
      `expected at most one ${ROOT_PATH_PARAMETER} line, found ${rootPaths.length} (lines ` +
        `${rootPaths.map((index) => index + 1).join(', ')}); remove the extra ones by hand.`,
    );
  }

  const anchor = lines[anchors[0]];
  const indent = /^[ \t]*/.exec(anchor)?.[0] ?? '';
  if (rootPaths.length === 1) return replaceRootPath(current, lines, rootPaths[0], folder, word);

  if (!withoutEnd(anchor).trimEnd().endsWith('\\')) {
    throw new ModificationShapeError(
      file,
      `expected line ${anchors[0] + 1} (gic_distributor.extended-spi-count) to continue the ` +
        'FVP command with "\\", so that a parameter can follow it.',
    );
  }
  const next = [...lines];
  let end = lineEnd(anchor);
  if (end === '') {
    end = lines.map(lineEnd).find((candidate) => candidate !== '') ?? '\n';
    next[anchors[0]] = anchor + end;
    end = '';
  }
  next.splice(anchors[0] + 1, 0, `${indent}-C ${ROOT_PATH_PARAMETER}=${word} \\${end}`);
  return plan(
    'fvp-9p-root-path',
    current,
    next.join(''),
    `Add "-C ${ROOT_PATH_PARAMETER}=${word}" after line ${anchors[0] + 1} of ${file}, so the ` +
      `FVP shares ${folder} with the normal world over 9p.`,
  );
}

function findLines(lines: string[], pattern: RegExp): number[] {
  const found: number[] = [];
  lines.forEach((line, index) => {
    if (!isComment(line) && pattern.test(line)) found.push(index);
  });
  return found;
}

function replaceRootPath(
  current: string,
  lines: string[],
  index: number,
  folder: string,
  word: string,
): ModificationPlan {
  const file = MODIFICATION_FILES['fvp-9p-root-path'];
  const line = lines[index];
  const parsed = rootPathValue(line);
  if (!parsed) {
    throw new ModificationShapeError(
      file,
      `line ${index + 1} sets ${ROOT_PATH_PARAMETER} in an unknown form (expected ` +
        `"-C ${ROOT_PATH_PARAMETER}=<folder> \\"); fix or remove it by hand.`,
    );
  }
  const existing = parsed.value === undefined ? undefined : normaliseFolder(parsed.value);
  if (existing === folder) {
    return plan('fvp-9p-root-path', current, current, `${file} already shares ${folder}.`);
  }

  const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
  const continuation = parsed.continued ? ' \\' : '';
  const next = [...lines];
  next[index] = `${indent}-C ${ROOT_PATH_PARAMETER}=${word}${continuation}${lineEnd(line)}`;
  const before = parsed.value ?? withoutEnd(line).trim();
  return plan(
    'fvp-9p-root-path',
    current,
    next.join(''),
    `Replace the FVP's 9p root_path on line ${index + 1} of ${file}: it shares ${before} now, ` +
      `and will share ${folder}.`,
  );
}

function normaliseFolder(folder: string): string {
  if (!path.posix.isAbsolute(folder)) return folder;
  const normalised = path.posix.normalize(folder);
  return normalised.length > 1 ? normalised.replace(/\/+$/, '') : normalised;
}

/**
 * Finds whether run_model.sh sets the FVP's root_path, whatever the folder. Returns
 * `unexpected` when the anchor line is missing or repeated, or root_path is set twice.
 */
export function rootPathPresence(text: string): 'present' | 'absent' | 'unexpected' {
  const lines = splitKeepingEnds(text);
  const anchors = findLines(lines, ANCHOR);
  const rootPaths = findLines(lines, ROOT_PATH_LINE);
  if (anchors.length !== 1 || rootPaths.length > 1) return 'unexpected';
  return rootPaths.length === 1 ? 'present' : 'absent';
}
