// The realm loop in this process, with a classifier stand-in (as bench/null-realm.mjs runs it),
// and the local file system's blocking and thread-pool modes side by side.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { realmLines, type Prediction } from '../../../core/protocol/output';
import { LocalRealmFs } from '../../../core/protocol/realm-fs';
import {
  runRealmLoop,
  type RealmClassifier,
  type RealmImageTiming,
} from '../../../core/protocol/realm-loop';
import { dataDir } from '../data';

let shared: string;

beforeEach(async () => {
  shared = await mkdtemp(path.join(os.tmpdir(), 'cca-realm-loop-test-'));
});

afterEach(async () => {
  await rm(shared, { recursive: true, force: true });
});

/** Collects what the loop prints, and each chunk it was written in. */
function capture(): { stream: PassThrough; text: () => string; writes: string[] } {
  const stream = new PassThrough();
  const writes: string[] = [];
  stream.on('data', (chunk: Buffer) => writes.push(chunk.toString()));
  return { stream, text: () => writes.join(''), writes };
}

describe('runRealmLoop', () => {
  test('stand-in classifier: lines, reply, timings', async () => {
    const image = path.join(shared, 'image.bmp');
    await copyFile(path.join(dataDir(), 'images', 'image.bmp'), image);
    const signalling = path.join(shared, 'signalling.txt');
    await writeFile(signalling, `systemState: query\nfileName: ${image}\n`);
    const prediction: Prediction = { index: 1, label: '1:goldfish', confidence: 0.5 };
    const seen: { width: number; height: number }[] = [];
    const classifier: RealmClassifier = {
      classify: (decoded) => {
        seen.push({ width: decoded.width, height: decoded.height });
        return { predictions: [prediction], inferMs: 2.5 };
      },
    };
    const timings: RealmImageTiming[] = [];
    const output = capture();

    const code = await runRealmLoop({
      modelPath: 'no-model.tflite',
      labelsPath: path.join(dataDir(), 'labels', 'labels.txt'),
      signallingFile: signalling,
      imageCount: 1,
      xnnpack: true,
      output: output.stream,
      classifier,
      onImage: (timing) => timings.push(timing),
    });

    assert.equal(code, 0);
    assert.deepEqual(seen, [{ width: 224, height: 224 }]);
    assert.equal(await readFile(signalling, 'utf8'), 'systemState: processed\n');
    assert.deepEqual(output.text().split('\n'), [
      realmLines.loadedModel('no-model.tflite'),
      realmLines.threads(1),
      realmLines.checkState(),
      realmLines.waitingForFile(),
      realmLines.waitingForFile(),
      realmLines.stateIsQuery(image),
      realmLines.inputName(image),
      realmLines.appliedXnnpack(),
      realmLines.result(prediction),
      '',
    ]);
    // One write per protocol step: start, query and name, results.
    assert.equal(output.writes.length, 3);
    assert.equal(timings.length, 1);
    assert.equal(timings[0]?.image, image);
    assert.equal(timings[0]?.inferMs, 2.5);
    assert.ok((timings[0]?.totalMs ?? 0) >= (timings[0]?.decodeMs ?? 0));
  });
});

describe('LocalRealmFs', () => {
  for (const blockingIo of [true, false]) {
    test(`blockingIo ${blockingIo}: same results`, async () => {
      const fs = new LocalRealmFs({ fileEvents: false, blockingIo });
      const file = path.join(shared, 'output.txt');
      const missing = path.join(shared, 'missing.txt');

      assert.equal(await fs.readFile(missing), undefined);
      assert.equal(await fs.readFrom(missing, 0), undefined);
      assert.equal(await fs.stat(missing), undefined);
      assert.equal(await fs.remove(missing), false);

      await fs.writeFileAtomic(file, 'INFO: one\nINFO: two\n');
      assert.equal((await fs.readFile(file))?.toString(), 'INFO: one\nINFO: two\n');
      const tail = await fs.readFrom(file, 10);
      assert.equal(tail?.bytes.toString(), 'INFO: two\n');
      assert.equal(tail?.size, 20);
      assert.equal((await fs.readFrom(file, 25))?.bytes.length, 0);
      assert.equal((await fs.stat(file))?.size, 20);

      // Above the blocking write limit, the write goes through the thread pool in both modes.
      const large = Buffer.alloc(200_000, 0x42);
      await fs.writeFileAtomic(file, large);
      assert.deepEqual(await fs.readFile(file), large);
      assert.equal(await fs.remove(file), true);
      assert.deepEqual(await fs.list(shared), []);
    });
  }
});
