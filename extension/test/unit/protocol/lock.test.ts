import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { FolderLock, FolderLockedError } from '../../../core/protocol/lock';

let dir: string;
let lockFile: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cca-lock-test-'));
  lockFile = path.join(dir, '.cca-client.lock');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FolderLock', () => {
  test('records pid, host and start time', async () => {
    const lock = await FolderLock.acquire(lockFile);
    const owner = JSON.parse(await readFile(lockFile, 'utf8')) as Record<string, unknown>;
    assert.equal(owner.pid, process.pid);
    assert.equal(owner.hostname, os.hostname());
    assert.ok(!Number.isNaN(Date.parse(String(owner.startedAt))));
    await lock.release();
    await assert.rejects(readFile(lockFile), /ENOENT/);
  });

  test('a second client in this process is refused', async () => {
    const lock = await FolderLock.acquire(lockFile);
    await assert.rejects(FolderLock.acquire(lockFile), FolderLockedError);
    await lock.release();
  });

  test('a lock of another host is kept', async () => {
    const owner = { pid: 1, hostname: 'elsewhere.example', startedAt: '2026-01-01T00:00:00Z' };
    await writeFile(lockFile, JSON.stringify(owner));
    await assert.rejects(FolderLock.acquire(lockFile), /in use by process 1 on elsewhere/);
  });

  test('a dead process lock is taken over', async () => {
    const owner = { pid: 2 ** 22 + 4321, hostname: os.hostname(), startedAt: 'then' };
    await writeFile(lockFile, JSON.stringify(owner));
    const reasons: string[] = [];
    const lock = await FolderLock.acquire(lockFile, (_previous, reason) => reasons.push(reason));
    assert.deepEqual(reasons, [`process ${owner.pid} no longer exists`]);
    await lock.release();
  });

  test('a fresh unreadable lock is respected', async () => {
    await writeFile(lockFile, '');
    await assert.rejects(FolderLock.acquire(lockFile), /another client is creating it/);
  });

  test('an old unreadable lock is taken over', async () => {
    await writeFile(lockFile, '{"pid": 12');
    const old = new Date(Date.now() - 60_000);
    await utimes(lockFile, old, old);
    const lock = await FolderLock.acquire(lockFile);
    await lock.release();
  });

  test('release leaves a lock that another client took', async () => {
    const lock = await FolderLock.acquire(lockFile);
    const other = { pid: 1, hostname: 'elsewhere.example', startedAt: 'later' };
    await writeFile(lockFile, JSON.stringify(other));
    await lock.release();
    assert.equal(await readFile(lockFile, 'utf8'), JSON.stringify(other));
  });
});
