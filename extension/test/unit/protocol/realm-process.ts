// The emulated realm as a real process with a real model, for the protocol's fault tests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulatedRealm, type EmulatedRealm } from '../../../core/emulated-realm/launcher';
import type { ImageResult, RealmClient } from '../../../core/protocol/client';
import { dataDir, type ExpectedTop5 } from '../data';

export const realmScript = path.resolve(__dirname, '..', '..', '..', 'cli', 'emulated-realm.js');
export const modelName = 'mobilenet_v1_0.25_128_quant.tflite';

/** Starts the emulated realm on a shared folder; a client's checks wake when it exits. */
export function startRealm(sharedDir: string, client?: RealmClient): EmulatedRealm {
  const realm = startEmulatedRealm({
    script: realmScript,
    model: path.join(dataDir(), 'models', modelName),
    labels: path.join(dataDir(), 'labels', 'labels.txt'),
    sharedDir,
  });
  if (client) void realm.exited.then(() => client.wake());
  return realm;
}

/** Returns a sample image of the test data. */
export function sampleImage(name: string): string {
  return path.join(dataDir(), 'images', name);
}

/** Checks a result against TensorFlow Lite's top-5 for a sample image, by index and label. */
export function assertSampleResult(result: ImageResult | undefined, sample: string): void {
  assert.ok(result, `no result for ${sample}`);
  assert.equal(result.error, null, `${result.image}: ${result.error}`);
  const text = readFileSync(path.join(dataDir(), 'expected', 'top5.json'), 'utf8');
  const expected = (JSON.parse(text) as ExpectedTop5)[modelName]?.[sample];
  assert.ok(expected, `expected/top5.json has ${modelName} / ${sample}`);
  assert.deepEqual(
    result.top5.map((p) => [p.index, p.label]),
    expected.map((p) => [p.index, p.label]),
    result.image,
  );
}
