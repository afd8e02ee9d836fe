// Applying and undoing modification plans. Before a write, each original goes to
// <stack>/.cca/backups/<timestamp>/<relative path>, listed in manifest.json with its sha256
// before and after; undo restores the newest backup not yet undone, only over files that
// still hold what the product wrote.

import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  access,
  chmod,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError } from '../files';
import type { ModificationId, ModificationPlan } from './modification-plans';

/** The backups folder, relative to the stack root. */
export const BACKUPS_FOLDER = path.join('.cca', 'backups');

/** One file in a backup manifest. */
export interface BackupEntry {
  /** Relative to the stack root, with `/` separators. */
  path: string;
  modification: ModificationId;
  /** sha256 of the original, which the backup folder holds. */
  sha256Before: string;
  /** sha256 of what the product wrote. */
  sha256After: string;
  /** The file's permission bits, restored by undo. */
  mode: number;
}

/** manifest.json of one backup. */
export interface BackupManifest {
  version: 1;
  createdAt: string;
  files: BackupEntry[];
  /** When undo restored this backup; such a backup is not restored again. */
  undoneAt?: string;
}

/** Result of apply or undo: the backup used and the files written. */
export interface ModificationWriteResult {
  /** The backup folder; undefined when no plan changed anything. */
  backupFolder?: string;
  /** The files written, relative to the stack root. */
  files: string[];
}

/** An apply or undo that was rejected before anything was written. */
export class ModificationWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModificationWriteError';
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes a file through a temporary file in the same folder and a rename, so that a reader
 * sees the old or the new content, and sets the given permission bits.
 */
export async function writeFileKeepingMode(
  file: string,
  data: Uint8Array,
  mode: number,
): Promise<void> {
  const target = await realpath(file).catch(() => file);
  const temporary = path.join(
    path.dirname(target),
    `.${path.basename(target)}.cca-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await writeFile(temporary, data, { flag: 'wx', mode: mode & 0o7777 });
    // The umask may have cleared bits of the requested mode.
    await chmod(temporary, mode & 0o7777);
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

interface PreparedFile {
  plan: ModificationPlan;
  absolute: string;
  original: Buffer;
  mode: number;
}

async function prepare(stackRoot: string, plan: ModificationPlan): Promise<PreparedFile> {
  const absolute = path.join(stackRoot, plan.file);
  const original = await readFile(absolute).catch((error: unknown) => {
    if (isMissingFileError(error)) {
      throw new ModificationWriteError(
        `${plan.file} was removed since the preview; nothing was changed.`,
      );
    }
    throw error;
  });
  if (!original.equals(Buffer.from(plan.current, 'utf8'))) {
    throw new ModificationWriteError(
      `${plan.file} changed since the preview; nothing was changed. Preview the ` +
        'modifications again.',
    );
  }
  const target = await realpath(absolute);
  try {
    await access(target, constants.W_OK);
    await access(path.dirname(target), constants.W_OK);
  } catch {
    throw new ModificationWriteError(
      `${plan.file} or its folder is not writable; nothing was changed. Check the permissions ` +
        '(files created in the build container belong to the container user).',
    );
  }
  return { plan, absolute, original, mode: (await stat(target)).mode & 0o7777 };
}

async function createBackupFolder(stackRoot: string, now: Date): Promise<string> {
  const parent = path.join(stackRoot, BACKUPS_FOLDER);
  await mkdir(parent, { recursive: true });
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  for (let attempt = 0; ; attempt += 1) {
    const folder = path.join(parent, attempt === 0 ? stamp : `${stamp}-${attempt}`);
    try {
      await mkdir(folder);
      return folder;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw error;
    }
  }
}

/**
 * Writes the plans that change something, all or none. Each file must still contain the
 * plan's current text. The originals and a manifest go to a new backup folder first, and a
 * failed write puts back the files already written and removes that backup.
 */
export async function applyModifications(
  stackRoot: string,
  plans: readonly ModificationPlan[],
  now: Date = new Date(),
): Promise<ModificationWriteResult> {
  const changed = plans.filter((plan) => plan.changed);
  if (changed.length === 0) return { files: [] };
  const prepared = await Promise.all(changed.map((plan) => prepare(stackRoot, plan)));

  const backupFolder = await createBackupFolder(stackRoot, now);
  const manifest: BackupManifest = { version: 1, createdAt: now.toISOString(), files: [] };
  for (const item of prepared) {
    const copy = path.join(backupFolder, item.plan.file);
    await mkdir(path.dirname(copy), { recursive: true });
    await writeFile(copy, item.original, { mode: item.mode });
    manifest.files.push({
      path: item.plan.file,
      modification: item.plan.id,
      sha256Before: sha256(item.original),
      sha256After: sha256(Buffer.from(item.plan.next, 'utf8')),
      mode: item.mode,
    });
  }
  await writeManifest(backupFolder, manifest);

  const written: PreparedFile[] = [];
  try {
    for (const item of prepared) {
      await writeFileKeepingMode(item.absolute, Buffer.from(item.plan.next, 'utf8'), item.mode);
      written.push(item);
    }
  } catch (error) {
    for (const item of written) {
      await writeFileKeepingMode(item.absolute, item.original, item.mode);
    }
    await rm(backupFolder, { recursive: true, force: true });
    throw new ModificationWriteError(
      `Writing the modifications failed, and the files written were put back: ` +
        (error as Error).message,
    );
  }
  return { backupFolder, files: prepared.map((item) => item.plan.file) };
}

async function writeManifest(folder: string, manifest: BackupManifest): Promise<void> {
  const text = `${JSON.stringify(manifest, undefined, 2)}\n`;
  await writeFileKeepingMode(path.join(folder, 'manifest.json'), Buffer.from(text), 0o644);
}

/** Finds the newest backup that undo has not restored yet. */
export async function latestBackup(
  stackRoot: string,
): Promise<{ folder: string; manifest: BackupManifest } | undefined> {
  const parent = path.join(stackRoot, BACKUPS_FOLDER);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (error) {
    if (isMissingFileError(error)) return undefined;
    throw error;
  }
  // Folder names are ISO timestamps, so their text order is their time order.
  for (const name of names.sort().reverse()) {
    const folder = path.join(parent, name);
    let manifest: BackupManifest;
    try {
      manifest = JSON.parse(
        await readFile(path.join(folder, 'manifest.json'), 'utf8'),
      ) as BackupManifest;
    } catch {
      continue;
    }
    if (manifest.version === 1 && Array.isArray(manifest.files) && !manifest.undoneAt) {
      return { folder, manifest };
    }
  }
  return undefined;
}

/**
 * Restores the files of the newest backup not yet undone, all or none. Rejects the undo when a
 * file no longer contains what the product wrote (the user changed it, and undo would lose
 * that) or when a backup copy does not match its manifest.
 */
export async function undoModifications(
  stackRoot: string,
  now: Date = new Date(),
): Promise<ModificationWriteResult> {
  const latest = await latestBackup(stackRoot);
  if (!latest) {
    throw new ModificationWriteError(
      `No modifications to undo: ${BACKUPS_FOLDER} contains no backup that is not undone yet.`,
    );
  }
  const { folder, manifest } = latest;

  const restores: { absolute: string; original: Buffer; current: Buffer; mode: number }[] = [];
  const problems: string[] = [];
  for (const entry of manifest.files) {
    const absolute = path.join(stackRoot, entry.path);
    const current = await readFile(absolute).catch(() => undefined);
    const original = await readFile(path.join(folder, entry.path)).catch(() => undefined);
    if (current === undefined || sha256(current) !== entry.sha256After) {
      problems.push(
        `${entry.path} was changed after CCA Realm Studio modified it, so undo would lose ` +
          `those changes; the original is in ${path.join(folder, entry.path)}.`,
      );
    } else if (original === undefined || sha256(original) !== entry.sha256Before) {
      problems.push(`the backup of ${entry.path} in ${folder} is missing or damaged.`);
    } else {
      restores.push({ absolute, original, current, mode: entry.mode });
    }
  }
  if (problems.length > 0) {
    throw new ModificationWriteError(`Undo rejected, nothing was changed: ${problems.join(' ')}`);
  }

  const written: typeof restores = [];
  try {
    for (const item of restores) {
      await writeFileKeepingMode(item.absolute, item.original, item.mode);
      written.push(item);
    }
  } catch (error) {
    for (const item of written) await writeFileKeepingMode(item.absolute, item.current, item.mode);
    throw new ModificationWriteError(
      `Undo failed, and the files restored were put back: ${(error as Error).message}`,
    );
  }
  await writeManifest(folder, { ...manifest, undoneAt: now.toISOString() });
  return { backupFolder: folder, files: manifest.files.map((entry) => entry.path) };
}
