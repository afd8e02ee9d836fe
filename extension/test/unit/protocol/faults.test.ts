// Faults around the shared-folder protocol: a realm killed mid-batch, two clients on one folder,
// output.txt truncated or rotated while the client reads it, and a full disk. Finished results
// must be kept, and every failure must name the image and the cause.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test, type TestContext } from 'node:test';
import type { EmulatedRealm } from '../../../core/emulated-realm/launcher';
import type { Logger } from '../../../core/log';
import { RealmClient, type ImageResult } from '../../../core/protocol/client';
import { FolderLockedError } from '../../../core/protocol/lock';
import type { Prediction } from '../../../core/protocol/output';
import { LocalRealmFs } from '../../../core/protocol/realm-fs';
import { writeSignalling } from '../../../core/protocol/signalling';
import { FakeRealm, writeTinyBmp } from './fake-realm';
import { assertSampleResult, sampleImage, startRealm } from './realm-process';

const predictions: Prediction[] = [{ index: 7, label: '7:cock', confidence: 0.25 }];

let workDir: string;
let sharedDir: string;
let fake: FakeRealm | undefined;
let realm: EmulatedRealm | undefined;

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  const log = { debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
  return { log, lines };
}

function startFake(answer: (imagePath: string) => Prediction[] = () => predictions): FakeRealm {
  fake = new FakeRealm({
    signallingFile: path.join(sharedDir, 'signalling.txt'),
    outputFile: path.join(sharedDir, 'output.txt'),
    pollMs: 10,
    answer,
  });
  return fake;
}

async function tinyImages(count: number, folder = workDir): Promise<string[]> {
  const images: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const image = path.join(folder, `photo ${i}.bmp`);
    await writeTinyBmp(image);
    images.push(image);
  }
  return images;
}

function errors(results: ImageResult[]): (string | null)[] {
  return results.map((result) => result.error);
}

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-faults-'));
  sharedDir = path.join(workDir, 'shared');
  await mkdir(sharedDir);
});

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
  await realm?.stop();
  realm = undefined;
  await rm(workDir, { recursive: true, force: true });
});

describe('realm and client faults', () => {
  test('realm killed mid-batch', async () => {
    const images = ['image1.bmp', 'image2.bmp', 'image3.bmp'].map(sampleImage);
    const client = new RealmClient({
      sharedDir,
      pollMs: 20,
      timeoutMs: 30_000,
      realmStatus: () => realm?.status(),
    });
    await client.open();
    let results: ImageResult[];
    try {
      realm = startRealm(sharedDir, client);
      const running = realm;
      results = await client.classify(images, {
        onResult: (_result, position) => {
          if (position === 0 && running.pid !== undefined) process.kill(running.pid, 'SIGKILL');
        },
      });
    } finally {
      await client.close();
    }

    assertSampleResult(results[0], 'image1.bmp');
    assert.match(results[1]?.error ?? '', /the emulated realm exited \(SIGKILL\)/);
    assert.match(
      results[2]?.error ?? '',
      /^not sent: the realm stopped responding at .*image2\.bmp$/,
    );
    // Nothing of the batch is left behind, so the next one starts clean.
    assert.deepEqual((await readdir(sharedDir)).sort(), ['output.txt', 'signalling.txt']);

    const next = new RealmClient({
      sharedDir,
      pollMs: 20,
      timeoutMs: 30_000,
      realmStatus: () => realm?.status(),
    });
    await next.open();
    try {
      realm = startRealm(sharedDir, next);
      const again = await next.classify([sampleImage('image2.bmp')]);
      assertSampleResult(again[0], 'image2.bmp');
    } finally {
      await next.close();
    }
  });

  test('two clients on one folder', async () => {
    const images = await tinyImages(3);
    startFake();
    const first = new RealmClient({ sharedDir, pollMs: 20, timeoutMs: 30_000 });
    const second = new RealmClient({ sharedDir, pollMs: 20, timeoutMs: 30_000 });
    const outcomes = await Promise.allSettled([first.classify(images), second.classify(images)]);

    const done = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(done.length, 1);
    assert.equal(refused.length, 1);
    assert.deepEqual(errors(done[0]?.value ?? []), [null, null, null]);
    const reason: unknown = refused[0]?.reason;
    // Which message the refused client gets depends on whether the other one had finished
    // writing the lock file; both name it.
    if (reason instanceof FolderLockedError) {
      assert.match(reason.message, /in use by process \d+ on .*\.cca-client\.lock/);
    } else {
      assert.match(String(reason), /Could not take the lock .*\.cca-client\.lock: another client/);
    }
    // The rejected client touched nothing, so the realm saw each image once.
    assert.equal(fake?.handled.length, 3);
    assert.deepEqual((await readdir(sharedDir)).sort(), ['output.txt', 'signalling.txt']);
  });

  test('output.txt truncated while read', async () => {
    const images = await tinyImages(3);
    const outputFile = path.join(sharedDir, 'output.txt');
    let seen = 0;
    startFake(() => {
      // A restarted realm service truncates its output, as `> output.txt` does.
      seen += 1;
      if (seen === 2) truncateSync(outputFile, 0);
      return predictions;
    });
    const { log, lines } = recordingLog();
    const results = await new RealmClient({ sharedDir, pollMs: 20, log }).classify(images);
    assert.deepEqual(errors(results), [null, null, null]);
    assert.deepEqual(results[1]?.top5, predictions);
    assert.ok(
      lines.some((line) => line === `warn: ${outputFile} was truncated; reading it from the start`),
    );
  });

  test('output.txt rotated while read', async () => {
    const images = await tinyImages(3);
    const outputFile = path.join(sharedDir, 'output.txt');
    // A long history, as a realm service that ran for a while leaves.
    await writeFile(outputFile, 'INFO: an earlier run\n'.repeat(5000));
    let seen = 0;
    startFake(() => {
      // logrotate's default: the file is renamed and the realm writes a new one.
      seen += 1;
      if (seen === 2) renameSync(outputFile, `${outputFile}.1`);
      return predictions;
    });
    const results = await new RealmClient({ sharedDir, pollMs: 20 }).classify(images);
    assert.deepEqual(errors(results), [null, null, null]);
    assert.deepEqual(results[2]?.top5, predictions);
    assert.ok((await readFile(`${outputFile}.1`, 'utf8')).startsWith('INFO: an earlier run\n'));
  });
});

// The full-disk tests put the shared folder on a file system of 256 KiB, where one large image
// does not fit. It is a real tmpfs when this process may mount one, which needs root. Otherwise
// a test double of the file system raises ENOSPC for writes that would not fit.
const tmpfsBytes = 256 * 1024;
let tmpfsMount: string | undefined;

/** A LocalRealmFs that fails writes beyond a byte budget with ENOSPC, as a full disk does. */
class FullDiskRealmFs extends LocalRealmFs {
  constructor(private readonly freeBytes: () => number) {
    super();
  }

  override async writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
    if (Buffer.byteLength(data) > this.freeBytes()) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
      });
    }
    await super.writeFileAtomic(file, data);
  }
}

/** Bytes in use in a folder, counted by file sizes. */
function usedBytes(folder: string): number {
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(path.join(folder, entry.name)).size, 0);
}

describe('full disk', () => {
  before(() => {
    const folder = path.join(os.tmpdir(), `cca-full-disk-${process.pid}`);
    mkdirSync(folder, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsBytes}`, 'tmpfs', folder], {
        stdio: 'ignore',
      });
      tmpfsMount = folder;
    } catch {
      tmpfsMount = undefined;
      rmdirSync(folder);
    }
  });

  after(() => {
    if (tmpfsMount === undefined) return;
    execFileSync('umount', [tmpfsMount]);
    rmdirSync(tmpfsMount);
  });

  /** Returns the shared folder and the file system to give the client, real or simulated. */
  function fullDiskFolder(t: TestContext): { folder: string; fs?: LocalRealmFs } {
    if (tmpfsMount !== undefined) {
      t.diagnostic(`shared folder on a ${tmpfsBytes}-byte tmpfs at ${tmpfsMount}`);
      return { folder: tmpfsMount };
    }
    t.diagnostic('cannot mount a tmpfs here: ENOSPC comes from a test double of the file system');
    const folder = sharedDir;
    return { folder, fs: new FullDiskRealmFs(() => tmpfsBytes - usedBytes(folder)) };
  }

  test('image larger than the free space', async (t) => {
    const { folder, fs } = fullDiskFolder(t);
    sharedDir = folder;
    // 300x300 pixels at 24 bits: 270,054 bytes, more than the whole file system.
    const large = path.join(workDir, 'large photo.bmp');
    writeFileSync(large, largeBmp(300, 300));
    const [small] = await tinyImages(1);
    startFake();
    const { log, lines } = recordingLog();
    try {
      const results = await new RealmClient({ sharedDir, fs, pollMs: 20, log }).classify([
        small ?? '',
        large,
        small ?? '',
      ]);
      assert.equal(results[0]?.error, null);
      assert.equal(
        results[1]?.error,
        `Copying ${large} into the shared folder ${sharedDir} on local folder failed: no space ` +
          'left on its file system (ENOSPC); free some space there and try again',
      );
      assert.equal(results[2]?.error, null, 'the batch goes on after a full disk');
      assert.deepEqual(results[2]?.top5, predictions);
      assert.ok(lines.some((line) => line.startsWith(`error: ${large}: Copying`)));
      // No temporary file or partial copy is left.
      const left = (await readdir(sharedDir)).sort();
      assert.deepEqual(left, ['output.txt', 'signalling.txt']);
    } finally {
      await fake?.stop();
      fake = undefined;
      for (const name of await readdir(sharedDir)) await rm(path.join(sharedDir, name));
    }
  });

  test('full disk keeps the signalling file', async (t) => {
    if (tmpfsMount === undefined) {
      t.skip('needs a tmpfs, which only root can mount');
      return;
    }
    const file = path.join(tmpfsMount, 'signalling.txt');
    const filler = path.join(tmpfsMount, 'filler');
    try {
      await writeSignalling(file, 'processed', '');
      // Fill every free block.
      await writeFile(filler, Buffer.alloc(tmpfsBytes)).catch(() => undefined);
      await assert.rejects(writeSignalling(file, 'query', `${tmpfsMount}/x.bmp`), {
        code: 'ENOSPC',
      });
      assert.equal(await readFile(file, 'utf8'), 'systemState: processed\nfileName: \n');
      assert.deepEqual((await readdir(tmpfsMount)).sort(), ['filler', 'signalling.txt']);
    } finally {
      await rm(filler, { force: true });
      await rm(file, { force: true });
    }
  });
});

/** Returns a 24-bit BMP of the given size, every pixel mid grey. */
function largeBmp(width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const bytes = Buffer.alloc(54 + stride * height, 0x80);
  bytes.write('BM', 0, 'ascii');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(width, 18);
  bytes.writeInt32LE(height, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  bytes.writeUInt32LE(0, 30);
  bytes.writeUInt32LE(stride * height, 34);
  return bytes;
}
