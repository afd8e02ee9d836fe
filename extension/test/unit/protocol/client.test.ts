import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { RealmClient, type ClientOptions } from '../../../core/protocol/client';
import type { Prediction } from '../../../core/protocol/output';
import { LocalRealmFs, RealmFsInterruptedError } from '../../../core/protocol/realm-fs';
import { parseSignalling } from '../../../core/protocol/signalling';
import { FakeRealm, writeTinyBmp, type Answer } from './fake-realm';

const predictions: Prediction[] = [
  { index: 653, label: '653:military uniform', confidence: 0.784314 },
  { index: 907, label: '907:Windsor tie', confidence: 0.0627451 },
  { index: 458, label: '458:bow tie, bow-tie, bowtie', confidence: 0.0156863 },
];

let workDir: string;
let sharedDir: string;
let realm: FakeRealm | undefined;

async function makeImages(count: number): Promise<string[]> {
  const images: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const image = path.join(workDir, `photo ${i}.bmp`);
    await writeTinyBmp(image);
    images.push(image);
  }
  return images;
}

function startRealm(pollMs: number, answer: Answer = () => predictions): FakeRealm {
  realm = new FakeRealm({
    signallingFile: path.join(sharedDir, 'signalling.txt'),
    outputFile: path.join(sharedDir, 'output.txt'),
    pollMs,
    answer,
  });
  return realm;
}

function client(options: Partial<ClientOptions> = {}): RealmClient {
  return new RealmClient({ sharedDir, pollMs: 20, timeoutMs: 10_000, ...options });
}

/**
 * A test double for a transport whose connection drops during a write: the first query write
 * for each image raises RealmFsInterruptedError, as SSH does when the connection drops during
 * the rename. With `landed` the write happened, and the realm took it, before the error;
 * without it, the write was lost.
 */
class InterruptedQueryFs extends LocalRealmFs {
  private readonly seen = new Set<string>();

  constructor(private readonly landed: boolean) {
    super();
  }

  get interrupted(): number {
    return this.seen.size;
  }

  override async writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
    const isQuery = typeof data === 'string' && data.startsWith('systemState: query');
    if (!isQuery || this.seen.has(data)) return super.writeFileAtomic(file, data);
    this.seen.add(data);
    if (this.landed) {
      await super.writeFileAtomic(file, data);
      // The reply is lost only after the realm took the query, so a blind resend would run it
      // a second time.
      while ((await readFile(file, 'utf8')) === data) await delay(5);
    }
    throw new RealmFsInterruptedError(file);
  }
}

/** Lists the client's image copies left in the shared folder. */
async function imageCopies(): Promise<string[]> {
  return (await readdir(sharedDir)).filter((name) => /^cca-.*\.bmp$/.test(name));
}

async function signallingState(): Promise<string | undefined> {
  const text = await readFile(path.join(sharedDir, 'signalling.txt'), 'utf8');
  return parseSignalling(text).rawState;
}

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-client-test-'));
  sharedDir = path.join(workDir, 'shared');
  await import('node:fs/promises').then((fs) => fs.mkdir(sharedDir));
});

afterEach(async () => {
  await realm?.stop();
  realm = undefined;
  await rm(workDir, { recursive: true, force: true });
});

describe('RealmClient', () => {
  test('classifies a batch and cleans up', async () => {
    const images = await makeImages(3);
    const fake = startRealm(10);
    const results = await client({ realmStatus: fake.status }).classify(images);

    assert.equal(results.length, 3);
    for (const [i, result] of results.entries()) {
      assert.equal(result.image, images[i]);
      assert.equal(result.error, null);
      assert.deepEqual(result.top5, predictions);
    }
    assert.equal(fake.handled.length, 3);
    assert.equal(await signallingState(), 'finished');
    const left = (await readdir(sharedDir)).filter((name) => name.endsWith('.bmp'));
    assert.deepEqual(left, [], 'image copies are removed');
  });

  test('initialises a missing signalling file', async () => {
    const images = await makeImages(1);
    const fake = startRealm(10);
    const results = await client({ realmStatus: fake.status }).classify(images);
    assert.equal(results[0]?.error, null);
  });

  test('leaves other files in the shared folder alone', async () => {
    const userFile = path.join(sharedDir, 'holiday.bmp');
    await writeFile(userFile, 'not ours');
    const images = await makeImages(1);
    const fake = startRealm(10);
    await client({ realmStatus: fake.status }).classify(images);
    assert.equal(await readFile(userFile, 'utf8'), 'not ours');
  });

  test('works at the original 5 s realm cadence', async () => {
    const images = await makeImages(2);
    const fake = startRealm(5000);
    const results = await client({ realmStatus: fake.status, pollMs: 200 }).classify(images);
    assert.deepEqual(
      results.map((r) => r.error),
      [null, null],
    );
    assert.deepEqual(results[1]?.top5, predictions);
  });

  test('keeps results when the realm prints FATAL mid-batch', async () => {
    const images = await makeImages(3);
    let seen = 0;
    const fake = startRealm(10, () => (++seen === 2 ? 'fatal' : predictions));
    const results = await client({ realmStatus: fake.status }).classify(images);

    assert.equal(results[0]?.error, null);
    assert.match(results[1]?.error ?? '', /FATAL: input file .* not found/);
    assert.match(results[2]?.error ?? '', /not sent: the realm stopped responding at .*photo 1/);
    // The copy of the image not sent was placed while the realm worked; it is removed too.
    // The failed image's copy may stay: the client may see FATAL before the realm exits.
    const unsent = (await imageCopies()).filter((name) => /^cca-[0-9a-f]{8}-2-/.test(name));
    assert.deepEqual(unsent, []);
  });

  test('names the image when the realm stops answering', async () => {
    const images = await makeImages(2);
    const fake = startRealm(10, () => 'ignore');
    const results = await client({ realmStatus: fake.status, timeoutMs: 400 }).classify(images);
    assert.match(results[0]?.error ?? '', /timed out after 400 ms without a result/);
    assert.match(results[1]?.error ?? '', /not sent: .*photo 0\.bmp/);
  });

  test('reports a realm that exited', async () => {
    const images = await makeImages(2);
    const fake = startRealm(10, () => 'ignore');
    const status = (): string | undefined => fake.status() ?? 'the emulated realm exited (code 1)';
    const results = await client({ realmStatus: status }).classify(images);
    assert.match(results[0]?.error ?? '', /exited \(code 1\)/);
  });

  test('cancel keeps finished results', async () => {
    const images = await makeImages(4);
    const controller = new AbortController();
    const fake = startRealm(10);
    const results = await client({ realmStatus: fake.status }).classify(images, {
      signal: controller.signal,
      onResult: (_result, position) => {
        if (position === 1) controller.abort();
      },
    });
    assert.equal(results[0]?.error, null);
    assert.equal(results[1]?.error, null);
    assert.match(results[2]?.error ?? '', /cancelled/);
    assert.match(results[3]?.error ?? '', /cancelled/);
    assert.deepEqual(await imageCopies(), []);
  });

  test('places the next copy while the realm works', async () => {
    const images = await makeImages(3);
    // Position of the image whose result the client waits for, and whether the next image's
    // copy was in the shared folder during that wait.
    let waitingFor = 0;
    const nextCopyEarly = [false, false, false];
    class WatchingFs extends LocalRealmFs {
      override async readFrom(file: string, offset: number) {
        const next = new RegExp(`^cca-[0-9a-f]{8}-${waitingFor + 1}-`);
        if ((await readdir(sharedDir)).some((name) => next.test(name))) {
          nextCopyEarly[waitingFor] = true;
        }
        return super.readFrom(file, offset);
      }
    }
    // The realm's 50 ms poll leaves the client several checks before each result.
    const fake = startRealm(50);
    const results = await client({ realmStatus: fake.status, fs: new WatchingFs() }).classify(
      images,
      {
        onResult: (_result, position) => {
          waitingFor = position + 1;
        },
      },
    );
    assert.deepEqual(
      results.map((result) => result.error),
      [null, null, null],
    );
    assert.deepEqual(nextCopyEarly, [true, true, false]);
    assert.deepEqual(await imageCopies(), []);
  });

  test('rejects an image it cannot decode and goes on', async () => {
    const [good] = await makeImages(1);
    const broken = path.join(workDir, 'broken.bmp');
    await writeFile(broken, 'BM this is not a bitmap');
    const fake = startRealm(10);
    const results = await client({ realmStatus: fake.status }).classify([broken, good ?? '']);
    assert.match(results[0]?.error ?? '', /broken\.bmp/);
    assert.equal(results[1]?.error, null);
  });

  test('refuses a folder another live client holds', async () => {
    const lockFile = path.join(sharedDir, '.cca-client.lock');
    const owner = { pid: process.ppid, hostname: os.hostname(), startedAt: 'earlier' };
    await writeFile(lockFile, JSON.stringify(owner));
    const images = await makeImages(1);
    await assert.rejects(client().classify(images), /in use by process/);
    assert.equal(await readFile(lockFile, 'utf8'), JSON.stringify(owner));
  });

  test('takes over a lock whose process is gone', async () => {
    const lockFile = path.join(sharedDir, '.cca-client.lock');
    const owner = { pid: 2 ** 22 + 12345, hostname: os.hostname(), startedAt: 'earlier' };
    await writeFile(lockFile, JSON.stringify(owner));
    const warnings: string[] = [];
    const log = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (m: string) => warnings.push(m),
    };
    const images = await makeImages(1);
    const fake = startRealm(10);
    const results = await client({ realmStatus: fake.status, log }).classify(images);
    assert.equal(results[0]?.error, null);
    assert.ok(
      warnings.some((w) => w.includes('no longer exists')),
      warnings.join('\n'),
    );
  });

  test('removes copies left by an earlier batch', async () => {
    const leftover = path.join(sharedDir, 'cca-0badc0de-3-photo.bmp');
    await writeTinyBmp(leftover);
    const images = await makeImages(1);
    const fake = startRealm(10);
    await client({ realmStatus: fake.status }).classify(images);
    assert.equal((await readdir(sharedDir)).includes('cca-0badc0de-3-photo.bmp'), false);
  });

  test('reads only output printed after the query', async () => {
    const images = await makeImages(1);
    const copyName = 'stale';
    await writeFile(
      path.join(sharedDir, 'output.txt'),
      `INFO: settings->input_bmp_name: ${copyName}\nINFO: 0.9: 1 1:goldfish\n`,
    );
    const fake = startRealm(10);
    const results = await client({ realmStatus: fake.status }).classify(images);
    assert.deepEqual(results[0]?.top5, predictions);
  });

  test('does not resend a query that landed before a drop', async () => {
    const images = await makeImages(3);
    const fake = startRealm(10);
    const fs = new InterruptedQueryFs(true);
    const results = await client({ realmStatus: fake.status, fs }).classify(images);

    assert.deepEqual(
      results.map((r) => r.error),
      [null, null, null],
    );
    assert.equal(fs.interrupted, 3, 'every query write was interrupted');
    assert.equal(fake.handled.length, 3, `the realm ran ${fake.handled.join(', ')}`);
    assert.equal(new Set(fake.handled).size, 3);
  });

  test('resends a query lost in a drop', async () => {
    const images = await makeImages(2);
    const fake = startRealm(10);
    const fs = new InterruptedQueryFs(false);
    const warnings: string[] = [];
    const log = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (m: string) => warnings.push(m),
    };
    const results = await client({ realmStatus: fake.status, fs, log }).classify(images);

    assert.deepEqual(
      results.map((r) => r.error),
      [null, null],
    );
    assert.deepEqual(results[1]?.top5, predictions);
    assert.equal(fs.interrupted, 2, 'the first query write of each image was lost');
    assert.equal(fake.handled.length, 2);
    assert.ok(
      warnings.some((w) => /dropped while writing the query/.test(w)),
      warnings.join('\n'),
    );
  });
});
