// Measures one image's time through the shared-folder protocol and the emulated realm
// process, next to the same model's bare classification (decode, resize, Infer, top-5) and
// Infer() alone in this process. Both are measured in one run, so the ratio stays valid when
// the machine's speed drifts. Run with `npm run bench` (it builds first).
//
// Environment: CCA_DATA_DIR (models/, images/, labels/), BENCH_ROUNDS (default 5),
// BENCH_MODEL (default mobilenet_v1_0.75_192_quant.tflite).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const { TfliteClassifier } = require(path.join(root, 'out/core/realm-runtime/classifier.js'));
const { readLabels } = require(path.join(root, 'out/core/realm-runtime/labels.js'));
const { decodeBmp } = require(path.join(root, 'out/core/images/bmp.js'));
const { RealmClient } = require(path.join(root, 'out/core/protocol/client.js'));
const { startEmulatedRealm } = require(path.join(root, 'out/core/emulated-realm/launcher.js'));

const dataDir = path.resolve(process.env.CCA_DATA_DIR ?? path.join(root, '..', 'shared', 'data'));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const modelName = process.env.BENCH_MODEL ?? 'mobilenet_v1_0.75_192_quant.tflite';
const model = path.join(dataDir, 'models', modelName);
const labelsFile = path.join(dataDir, 'labels', 'labels.txt');
const images = ['image.bmp', ...Array.from({ length: 9 }, (_, i) => `image${i + 1}.bmp`)].map(
  (name) => path.join(dataDir, 'images', name),
);

function summarise(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), n: sorted.length };
}

function format({ median, p10, p90, n }) {
  return `median ${median.toFixed(1)} ms (p10 ${p10.toFixed(1)}, p90 ${p90.toFixed(1)}, n=${n})`;
}

async function measureBare() {
  const classifier = await TfliteClassifier.load(model);
  const labels = await readLabels(labelsFile);
  const bytes = await Promise.all(images.map((image) => readFile(image)));
  const total = [];
  const infer = [];
  for (let round = 0; round < rounds + 1; round += 1) {
    for (const image of bytes) {
      const started = performance.now();
      const { inferMs } = classifier.classify(decodeBmp(image), labels);
      // The first round warms up the WASM code and is not counted.
      if (round === 0) continue;
      total.push(performance.now() - started);
      infer.push(inferMs);
    }
  }
  classifier.dispose();
  return { total: summarise(total), infer: summarise(infer) };
}

async function measureProtocol() {
  const sharedDir = await mkdtemp(path.join(os.tmpdir(), 'cca-bench-'));
  const realm = startEmulatedRealm({
    script: path.join(root, 'dist', 'emulated-realm.js'),
    model,
    labels: labelsFile,
    sharedDir,
  });
  const client = new RealmClient({ sharedDir, realmStatus: realm.status });
  const times = [];
  try {
    for (let round = 0; round < rounds + 1; round += 1) {
      const results = await client.classify(images);
      const failed = results.filter((r) => r.error);
      if (failed.length > 0) throw new Error(`${failed[0].image}: ${failed[0].error}`);
      if (round > 0) times.push(...results.map((r) => r.ms));
    }
  } finally {
    await realm.stop();
    await rm(sharedDir, { recursive: true, force: true });
  }
  return summarise(times);
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}`);
console.log(`model: ${modelName}; ${images.length} images x ${rounds} rounds after a warm-up\n`);
const bare = await measureBare();
const protocol = await measureProtocol();
console.log(`Infer() alone:                      ${format(bare.infer)}`);
console.log(`decode + resize + Infer + top-5:    ${format(bare.total)}`);
console.log(`request to result via the protocol: ${format(protocol)}`);
console.log(
  `protocol / Infer() ratio: ${(protocol.median / bare.infer.median).toFixed(2)}; ` +
    `protocol overhead: ${(protocol.median - bare.total.median).toFixed(1)} ms per image`,
);
