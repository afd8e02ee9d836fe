// Figure 2: the emulated realm's time per image for each model in CCA_DATA_DIR/models. The
// Infer() time that the same realm process measures is the reference, and the realm's step
// timings show what decoding, resizing and I/O add. The realm process (dist/emulated-realm.js)
// writes those timings with --timings, while the client sends the ten sample images through
// the protocol on a temporary folder. For reference, the script also times Infer() in a bare
// loop in its own process.
//
// Environment: CCA_DATA_DIR, BENCH_ROUNDS (batches after a warm-up batch, default 5),
// BENCH_MODELS (comma-separated file names; default every .tflite file).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  describeMachine,
  envNumber,
  labelsFile,
  load,
  modelFiles,
  printTable,
  root,
  sampleImages,
  summarise,
} from './lib.mjs';

const { RealmClient } = load('core/protocol/client.js');
const { startEmulatedRealm } = load('core/emulated-realm/launcher.js');
const { TfliteClassifier } = load('core/realm-runtime/classifier.js');
const { readLabels } = load('core/realm-runtime/labels.js');
const { decodeBmp } = load('core/images/bmp.js');

const images = sampleImages();
/** The models of the targets: the closest real model and the realm model's own topology. */
export const targetModels = [
  'mobilenet_v1_0.75_192_quant.tflite',
  'mobilenet_v1_1.0_224_random_float.tflite',
];

/** Times Infer() in a loop over the sample images in this process, after a warm-up round. */
async function bareInfer(model, rounds) {
  const classifier = await TfliteClassifier.load(model);
  const labels = await readLabels(labelsFile());
  const decoded = images.map((image) => decodeBmp(readFileSync(image)));
  const times = [];
  try {
    for (let round = 0; round <= rounds; round += 1) {
      for (const image of decoded) {
        const { inferMs } = classifier.classify(image, labels);
        if (round > 0) times.push(inferMs);
      }
    }
  } finally {
    classifier.dispose();
  }
  return summarise(times);
}

/**
 * Sends `rounds` batches of the sample images through the emulated realm. Returns the times per
 * image seen by the client (between results, and from sending to the result) and the realm's
 * own step timings.
 */
export async function measureRealm(model, rounds, batch = images) {
  const sharedDir = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-realm-'));
  const timingsFile = path.join(sharedDir, 'timings.jsonl');
  const realm = startEmulatedRealm({
    script: path.join(root, 'dist', 'emulated-realm.js'),
    model,
    labels: labelsFile(),
    sharedDir,
    timingsFile,
  });
  const client = new RealmClient({ sharedDir, realmStatus: realm.status });
  const perImage = [];
  const latency = [];
  try {
    for (let round = 0; round <= rounds; round += 1) {
      let sent = 0;
      let last;
      const results = await client.classify(batch, {
        onStart: () => {
          sent = performance.now();
        },
        onResult: () => {
          const now = performance.now();
          if (round > 0) {
            latency.push(now - sent);
            if (last !== undefined) perImage.push(now - last);
          }
          last = now;
        },
      });
      const failed = results.find((result) => result.error);
      if (failed) throw new Error(`${failed.image}: ${failed.error}`);
    }
    const timings = readFileSync(timingsFile, 'utf8')
      .trim()
      .split('\n')
      .slice(batch.length)
      .map((line) => JSON.parse(line));
    const step = (field) => summarise(timings.map((timing) => timing[field]));
    return {
      perImage: summarise(perImage),
      latency: summarise(latency),
      infer: step('inferMs'),
      read: step('readMs'),
      decode: step('decodeMs'),
      prepare: summarise(timings.map((timing) => timing.classifyMs - timing.inferMs)),
      reply: step('replyMs'),
      realmTotal: step('totalMs'),
    };
  } finally {
    await realm.stop();
    rmSync(sharedDir, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) {
  console.log(describeMachine());
  const rounds = envNumber('BENCH_ROUNDS', 5);
  const selected = process.env.BENCH_MODELS?.split(',').map((name) => name.trim());
  const models = modelFiles().filter(
    (model) => !selected || selected.includes(path.basename(model)),
  );
  console.log(
    `Figure 2: emulated realm per image; ${images.length} sample images x ${rounds} batches ` +
      'after a warm-up batch. Medians in ms; the realm measures its own steps.\n',
  );

  const rows = [
    [
      'model',
      'Infer() in realm',
      'read',
      'decode',
      'resize+top-5',
      'reply',
      'realm total',
      'send to result',
      'per image',
      'ratio',
      'Infer() bare',
    ],
  ];
  const verdicts = [];
  for (const model of models) {
    const name = path.basename(model, '.tflite');
    const realm = await measureRealm(model, rounds);
    const bare = await bareInfer(model, rounds);
    const ratio = realm.latency.median / realm.infer.median;
    rows.push([
      name,
      `${realm.infer.median.toFixed(2)} (p10 ${realm.infer.p10.toFixed(1)}, p90 ${realm.infer.p90.toFixed(1)})`,
      realm.read.median.toFixed(2),
      realm.decode.median.toFixed(2),
      realm.prepare.median.toFixed(2),
      realm.reply.median.toFixed(2),
      realm.realmTotal.median.toFixed(2),
      `${realm.latency.median.toFixed(2)} (p10 ${realm.latency.p10.toFixed(1)}, p90 ${realm.latency.p90.toFixed(1)})`,
      realm.perImage.median.toFixed(2),
      ratio.toFixed(3),
      bare.median.toFixed(2),
    ]);
    if (targetModels.includes(path.basename(model))) {
      verdicts.push(
        `${name}: send to result / Infer() = ${ratio.toFixed(3)}, target <= 1.15: ${ratio <= 1.15 ? 'met' : 'missed'}`,
      );
    }
  }
  printTable(rows);
  console.log(
    '\nread: printing the query lines and reading the BMP; resize+top-5: resize, input ' +
      'conversion, tensor access and top-5; reply: printing the results and writing ' +
      '`processed`; ratio: send to result / Infer() in realm.',
  );
  for (const verdict of verdicts) console.log(verdict);
}
