// Figure 3: batch throughput and memory. For the two target models, the ten sample images and
// a batch of 1,000 built from them (each sample sent 100 times) go through RealmClient and the
// emulated realm. The script reports images per second against 1 / Infer(), where Infer() is the
// realm's own median of the same run. Every 100 images of the large batch it samples the
// resident memory (RSS) of the client (this process) and of the realm process. It also samples
// the client's live heap, after a full garbage collection when the script runs with
// --expose-gc, as npm run bench runs it.
// The realm's RSS is its high-water mark of touched pages: it rises in steps early in a batch
// and then stays, so the check looks at the second half of the batch.
//
// Environment: CCA_DATA_DIR, BENCH_ROUNDS (sample batches after a warm-up batch, default 5),
// BENCH_BATCH (size of the large batch, default 1000), BENCH_MODELS (comma-separated names).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { targetModels } from './emulated-realm.mjs';
import {
  dataDir,
  describeMachine,
  envNumber,
  labelsFile,
  load,
  memoryKb,
  printTable,
  root,
  sampleImages,
  summarise,
} from './lib.mjs';

const { RealmClient } = load('core/protocol/client.js');
const { startEmulatedRealm } = load('core/emulated-realm/launcher.js');

const samples = sampleImages();
const mib = (kb) => (kb / 1024).toFixed(1);

/**
 * Runs the sample batch `rounds` times after a warm-up batch, then the large batch, on one
 * realm process. Returns images per second of each, the realm's Infer() median, and the memory
 * samples of the large batch.
 */
async function measureModel(model, rounds, batchSize) {
  const sharedDir = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-batch-'));
  const timingsFile = path.join(sharedDir, 'timings.jsonl');
  const realm = startEmulatedRealm({
    script: path.join(root, 'dist', 'emulated-realm.js'),
    model,
    labels: labelsFile(),
    sharedDir,
    timingsFile,
  });
  const client = new RealmClient({ sharedDir, realmStatus: realm.status });
  const classify = async (images, options) => {
    const results = await client.classify(images, options);
    const failed = results.find((result) => result.error);
    if (failed) throw new Error(`${failed.image}: ${failed.error}`);
  };

  try {
    const sampleRates = [];
    for (let round = 0; round <= rounds; round += 1) {
      const started = performance.now();
      await classify(samples);
      if (round > 0) sampleRates.push(samples.length / ((performance.now() - started) / 1000));
    }

    const large = Array.from({ length: batchSize }, (_, index) => samples[index % samples.length]);
    const memory = [];
    const sample = (count) => {
      globalThis.gc?.();
      memory.push({
        count,
        client: memoryKb('self'),
        heapMb: process.memoryUsage().heapUsed / 2 ** 20,
        realm: memoryKb(realm.pid),
      });
    };
    sample(0);
    const started = performance.now();
    await classify(large, {
      onResult: (_result, position) => {
        if ((position + 1) % 100 === 0) sample(position + 1);
      },
    });
    const largeRate = batchSize / ((performance.now() - started) / 1000);

    const timings = readFileSync(timingsFile, 'utf8').trim().split('\n').slice(samples.length);
    const infer = summarise(timings.map((line) => JSON.parse(line).inferMs));
    return {
      sample: summarise(sampleRates),
      largeRate,
      infer,
      memory,
      clientPeakKb: memoryKb('self', 'VmHWM'),
      realmPeakKb: memoryKb(realm.pid, 'VmHWM'),
    };
  } finally {
    await realm.stop();
    rmSync(sharedDir, { recursive: true, force: true });
  }
}

console.log(describeMachine());
const rounds = envNumber('BENCH_ROUNDS', 5);
const batchSize = envNumber('BENCH_BATCH', 1000);
const selected = process.env.BENCH_MODELS?.split(',').map((name) => name.trim()) ?? targetModels;
console.log(
  `Figure 3: batch throughput; ${samples.length} sample images x ${rounds} batches after a ` +
    `warm-up batch, then one batch of ${batchSize} built from them\n`,
);

for (const name of selected) {
  const result = await measureModel(path.join(dataDir(), 'models', name), rounds, batchSize);
  const ideal = 1000 / result.infer.median;
  console.log(
    `${name}: Infer() median in the realm ${result.infer.median.toFixed(2)} ms, so 1 / Infer() = ${ideal.toFixed(1)} images/s`,
  );
  printTable([
    ['batch', 'images/s', 'ratio to 1 / Infer()'],
    [
      `${samples.length} samples (median of ${rounds}, min-max ${result.sample.min.toFixed(1)}-${result.sample.max.toFixed(1)})`,
      result.sample.median.toFixed(1),
      (result.sample.median / ideal).toFixed(3),
    ],
    [`${batchSize} images`, result.largeRate.toFixed(1), (result.largeRate / ideal).toFixed(3)],
  ]);

  const first = result.memory.find((entry) => entry.count >= 100) ?? result.memory[0];
  const half = result.memory.find((entry) => entry.count >= batchSize / 2) ?? first;
  const last = result.memory.at(-1);
  const heapKind = globalThis.gc ? 'live heap after a full collection' : 'heap used';
  console.log(
    `  memory (MiB) at images ${result.memory.map((entry) => entry.count).join(', ')}:\n` +
      `    client RSS  ${result.memory.map((entry) => mib(entry.client)).join(', ')}\n` +
      `    client heap ${result.memory.map((entry) => entry.heapMb.toFixed(1)).join(', ')} (${heapKind})\n` +
      `    realm RSS   ${result.memory.map((entry) => mib(entry.realm)).join(', ')}`,
  );
  const heapGrowth = last.heapMb - first.heapMb;
  const realmGrowth = (last.realm - half.realm) / 1024;
  console.log(
    `  peak RSS: client ${mib(result.clientPeakKb)} MiB, realm ${mib(result.realmPeakKb)} MiB; ` +
      `client heap from image ${first.count} to ${last.count}: ${heapGrowth.toFixed(1)} MiB; ` +
      `realm RSS from image ${half.count} to ${last.count}: ${realmGrowth.toFixed(1)} MiB`,
  );
  const flat = heapGrowth < 4 && realmGrowth < 0.05 * (half.realm / 1024);
  console.log(
    `  target: memory flat over the ${batchSize}-image batch (client heap within 4 MiB, realm ` +
      `RSS within 5% over the second half): ${flat ? 'met' : 'missed'}`,
  );
  const ratio = result.largeRate / ideal;
  console.log(
    `  target: ${batchSize}-image batch >= 0.85 of 1 / Infer(): ${ratio >= 0.85 ? 'met' : 'missed'} (${ratio.toFixed(3)})\n`,
  );
}
