// Reads the stack's scripts and plans the product's three modifications (the pure planners
// are in modification-plans.ts), previews them as a diff, and detects which are applied.
// modification-backups.ts applies and undoes the plans.

import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError } from '../files';
import { unifiedDiff } from './diff';
import {
  MODIFICATION_FILES,
  MODIFICATION_IDS,
  ModificationShapeError,
  ModificationsError,
  planBuildrootScript,
  planLinuxPatchLine,
  planNinePRootPath,
  rootPathPresence,
  type ModificationId,
  type ModificationPlan,
} from './modification-plans';

export * from './modification-plans';

/** Inputs of planModifications besides the stack. */
export interface ModificationOptions {
  /** The host folder the FVP shares over 9p (ccaRealmStudio.stack.shareDir). */
  shareDir: string;
  /** The project's stack-scripts/ folder; found beside the extension when not given. */
  stackScriptsDir?: string;
}

async function isFolder(folder: string): Promise<boolean> {
  try {
    return (await stat(folder)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Returns the project's stack-scripts/ folder, searched upwards from this module (its place
 * differs between the compiled out/ tree and the bundled dist/ file).
 */
export function findStackScriptsDir(start: string = __dirname): string {
  let folder = start;
  for (let depth = 0; depth < 6; depth += 1) {
    const candidate = path.join(folder, 'stack-scripts');
    if (existsSync(path.join(candidate, 'build-buildroot.sh'))) return candidate;
    folder = path.dirname(folder);
  }
  throw new Error(
    `The project's stack-scripts/build-buildroot.sh was not found above ${start}; ` +
      'reinstall the extension.',
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads a script as UTF-8 text; the text encodes back to the same bytes. */
export async function readScript(file: string, label: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new ModificationShapeError(label, `expected the file at ${file}, found none.`);
    }
    throw error;
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ModificationShapeError(label, 'expected UTF-8 text, found other bytes.');
  }
}

// checkShareDir rejects a share folder that does not exist: planning for a write checks it,
// state detection does not.
async function planOne(
  id: ModificationId,
  stackRoot: string,
  options: ModificationOptions & { checkShareDir?: boolean },
): Promise<ModificationPlan> {
  const file = MODIFICATION_FILES[id];
  const current = await readScript(path.join(stackRoot, file), file);
  switch (id) {
    case 'buildroot-script': {
      const framework = path.join(stackRoot, 'build-scripts', 'framework.sh');
      if (!existsSync(framework)) {
        throw new ModificationShapeError(
          'build-scripts/framework.sh',
          "expected the file, which the project's build-buildroot.sh runs through; " +
            'download the stack first.',
        );
      }
      const scriptsDir = options.stackScriptsDir ?? findStackScriptsDir();
      const projectScript = await readScript(
        path.join(scriptsDir, 'build-buildroot.sh'),
        'stack-scripts/build-buildroot.sh',
      );
      return planBuildrootScript(current, projectScript);
    }
    case 'linux-patch-line':
      return planLinuxPatchLine(current);
    case 'fvp-9p-root-path': {
      let rootPathPlan: ModificationPlan;
      try {
        rootPathPlan = planNinePRootPath(current, options.shareDir);
      } catch (error) {
        if (error instanceof ModificationShapeError) throw error;
        throw new ModificationShapeError(file, (error as Error).message);
      }
      if (options.checkShareDir && !(await isFolder(options.shareDir))) {
        throw new ModificationShapeError(
          file,
          `the share folder ${options.shareDir} does not exist; create it or choose another.`,
        );
      }
      return rootPathPlan;
    }
  }
}

/**
 * Reads the stack's scripts and plans all three modifications. Throws a ModificationsError
 * naming every file of an unexpected shape and a share folder that does not exist. Then no
 * plan is returned, so nothing is written.
 */
export async function planModifications(
  stackRoot: string,
  options: ModificationOptions,
): Promise<ModificationPlan[]> {
  const results = await Promise.allSettled(
    MODIFICATION_IDS.map((id) => planOne(id, stackRoot, { ...options, checkShareDir: true })),
  );
  const problems: ModificationShapeError[] = [];
  const plans: ModificationPlan[] = [];
  for (const result of results) {
    if (result.status === 'fulfilled') plans.push(result.value);
    else if (result.reason instanceof ModificationShapeError) problems.push(result.reason);
    else throw result.reason;
  }
  if (problems.length > 0) throw new ModificationsError(problems);
  return plans;
}

/** Renders the plans that change something as one unified diff, for a preview. */
export function previewModifications(plans: readonly ModificationPlan[]): string {
  return plans
    .filter((item) => item.changed)
    .map((item) =>
      unifiedDiff(item.current, item.next, {
        oldLabel: `a/${item.file}`,
        newLabel: `b/${item.file}`,
      }),
    )
    .join('');
}

/** Whether a modification is in the stack. */
export type ModificationState = 'applied' | 'not-applied' | 'unexpected';

/** A modification's state, for the stack's state detection. */
export interface ModificationStatus {
  id: ModificationId;
  file: string;
  state: ModificationState;
  /** The plan's description, or what is unexpected. */
  detail: string;
}

/**
 * Detects each modification by content. Without a share folder (undefined or empty), any
 * root_path line counts as applied.
 */
export async function modificationsStatus(
  stackRoot: string,
  shareDir: string | undefined,
  options: { stackScriptsDir?: string } = {},
): Promise<ModificationStatus[]> {
  return Promise.all(
    MODIFICATION_IDS.map(async (id): Promise<ModificationStatus> => {
      const file = MODIFICATION_FILES[id];
      try {
        if (id === 'fvp-9p-root-path' && (shareDir === undefined || shareDir.trim() === '')) {
          return await rootPathStatus(stackRoot);
        }
        // Only the root_path modification reads the share folder, and it has one here.
        const item = await planOne(id, stackRoot, { ...options, shareDir: shareDir ?? '' });
        const state = item.changed ? 'not-applied' : 'applied';
        return { id, file, state, detail: item.description };
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        return { id, file, state: 'unexpected', detail: error.message };
      }
    }),
  );
}

async function rootPathStatus(stackRoot: string): Promise<ModificationStatus> {
  const id = 'fvp-9p-root-path';
  const file = MODIFICATION_FILES[id];
  const presence = rootPathPresence(await readScript(path.join(stackRoot, file), file));
  switch (presence) {
    case 'unexpected':
      return { id, file, state: 'unexpected', detail: `${file} does not have the expected lines.` };
    case 'present':
      return { id, file, state: 'applied', detail: `${file} sets bp.virtiop9device.root_path.` };
    case 'absent':
      return {
        id,
        file,
        state: 'not-applied',
        detail: `${file} has no bp.virtiop9device.root_path.`,
      };
  }
}
