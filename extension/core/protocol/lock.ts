import os from 'node:os';
import { localRealmFs, RealmFsInterruptedError, type RealmFs } from './realm-fs';

/** Owner of a shared folder's lock, stored as JSON in the lock file. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO 8601 time the owner took the lock. */
  startedAt: string;
}

/** Raised when another live client drives the shared folder. */
export class FolderLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly owner: LockOwner,
  ) {
    super(
      `The shared folder is in use by process ${owner.pid} on ${owner.hostname} ` +
        `(since ${owner.startedAt}). Wait for that batch to end, or delete ${lockFile} ` +
        'if that process is gone.',
    );
    this.name = 'FolderLockedError';
  }
}

// An empty or unparsable lock file was left by a client that died while writing it. It is
// taken over only once it is this old, so that a client still writing it keeps it.
const unreadableLockGraceMs = 10_000;

/**
 * An exclusive claim on a shared folder, so that two normal-world clients never write
 * queries into one signalling file. The file is created with O_EXCL. A lock whose process
 * no longer exists on this host is taken over, and `onTakeOver` receives the reason to log.
 */
export class FolderLock {
  private constructor(
    readonly file: string,
    readonly owner: LockOwner,
    private readonly fs: RealmFs,
  ) {}

  static async acquire(
    file: string,
    onTakeOver: (previous: LockOwner | undefined, reason: string) => void = () => undefined,
    fs: RealmFs = localRealmFs,
  ): Promise<FolderLock> {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        if (await fs.createExclusive(file, JSON.stringify(owner) + '\n')) {
          return new FolderLock(file, owner, fs);
        }
      } catch (error) {
        if (!(error instanceof RealmFsInterruptedError)) throw error;
        // The connection dropped during the create: the file's contents tell whether it is ours.
        // NOTE: a drop between creating the file and writing it leaves an empty lock, which
        // counts as another client's until it is unreadableLockGraceMs old.
        const current = await readOwner(file, fs);
        if (current && isSameOwner(current, owner)) return new FolderLock(file, owner, fs);
        continue;
      }

      const previous = await readOwner(file, fs);
      const staleReason = await describeStaleLock(file, previous, fs);
      if (staleReason === undefined) {
        if (previous) throw new FolderLockedError(file, previous);
        continue;
      }
      onTakeOver(previous, staleReason);
      await fs.remove(file).catch(() => undefined);
    }
    throw new Error(
      `Could not take the lock ${file}: another client is creating it. Try again in a few seconds.`,
    );
  }

  /** Removes the lock file if it is still this lock's. */
  async release(): Promise<void> {
    const current = await readOwner(this.file, this.fs);
    if (current && isSameOwner(current, this.owner)) {
      await this.fs.remove(this.file).catch(() => undefined);
    }
  }
}

function isSameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.hostname === b.hostname && a.startedAt === b.startedAt;
}

async function readOwner(file: string, fs: RealmFs): Promise<LockOwner | undefined> {
  try {
    const bytes = await fs.readFile(file);
    if (bytes === undefined) return undefined;
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<LockOwner>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.hostname === 'string' &&
      typeof parsed.startedAt === 'string'
    ) {
      return { pid: parsed.pid, hostname: parsed.hostname, startedAt: parsed.startedAt };
    }
  } catch {
    // Missing or unparsable: handled by the caller as an unreadable lock.
  }
  return undefined;
}

/** Returns why a lock may be taken over, or undefined while its owner may still be alive. */
async function describeStaleLock(
  file: string,
  owner: LockOwner | undefined,
  fs: RealmFs,
): Promise<string | undefined> {
  if (!owner) {
    const info = await fs.stat(file).catch(() => undefined);
    if (!info) return 'the lock file disappeared';
    // NOTE: over SSH the time comes from the board's clock, so a skewed clock shifts the grace.
    const ageMs = Date.now() - info.mtimeMs;
    return ageMs > unreadableLockGraceMs ? 'the lock file is unreadable' : undefined;
  }
  // NOTE: a process on another host cannot be checked from here, so its lock is kept until
  // its owner releases it or the user deletes the file.
  if (owner.hostname !== os.hostname()) return undefined;
  if (owner.pid === process.pid) return undefined;
  return isProcessAlive(owner.pid) ? undefined : `process ${owner.pid} no longer exists`;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
