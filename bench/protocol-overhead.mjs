// Figure 1: the shared-folder protocol's own cost per image, with a realm that runs no model.
//
// 1. Local folder: RealmClient and the emulated realm's loop with a classifier stand-in
//    (bench/null-realm.mjs) on a temporary folder, both waiting on file events.
// 2. QEMU's 9p share: the client on the host folder, and bench/guest-responder.sh in the board's
//    guest replying over the share as fast as busybox sh can. The same run measures the share's
//    own round trip: the host writes a query-shaped file, the guest reads it and writes a reply,
//    and the host reads the reply.
// 3. The original cadence: both sides poll every 5 s (real sleeps), as GuaranTEE's scripts do.
//
// Environment: CCA_DATA_DIR, BENCH_ROUNDS (batches of the ten sample images, default 10),
// BENCH_9P_ROUNDS (default 3), BENCH_CADENCE_IMAGES (default 4), BENCH_SKIP_9P=1.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boardUnavailable, startBoard } from './board.mjs';
import {
  describeMachine,
  envNumber,
  formatMs,
  labelsFile,
  load,
  printTable,
  sampleImages,
  summarise,
} from './lib.mjs';

const { RealmClient } = load('core/protocol/client.js');
const { startEmulatedRealm } = load('core/emulated-realm/launcher.js');
const { writeFileAtomicSync } = load('core/protocol/atomic.js');

const nullRealm = path.join(import.meta.dirname, 'null-realm.mjs');
const responder = path.join(import.meta.dirname, 'guest-responder.sh');
const guestShare = '/mnt/shared';
const images = sampleImages();

/**
 * Sends `rounds` batches of the sample images through `client` and returns, per image, the
 * time between consecutive results within a batch (the cost per image of a long batch) and the
 * time from sending the image to its result. The first batch warms up and is not counted.
 */
async function runBatches(client, rounds) {
  const perImage = [];
  const latency = [];
  for (let round = 0; round <= rounds; round += 1) {
    let sent = 0;
    let last;
    const results = await client.classify(images, {
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
  return { perImage: summarise(perImage), latency: summarise(latency) };
}

/** Reads the realm's per-image timings (JSON lines) and summarises one field. */
function realmTimings(file, field, skip = images.length) {
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(skip);
  return summarise(lines.map((line) => JSON.parse(line)[field]));
}

async function measureLocal(rounds) {
  const sharedDir = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-local-'));
  const timingsFile = path.join(sharedDir, 'timings.jsonl');
  const realm = startEmulatedRealm({
    script: nullRealm,
    model: 'no-model.tflite',
    labels: labelsFile(),
    sharedDir,
    timingsFile,
  });
  const client = new RealmClient({ sharedDir, realmStatus: realm.status });
  try {
    const figures = await runBatches(client, rounds);
    return { ...figures, realm: realmTimings(timingsFile, 'totalMs') };
  } finally {
    await realm.stop();
    rmSync(sharedDir, { recursive: true, force: true });
  }
}

/** Both sides at GuaranTEE's cadence: the realm and the client poll every 5 s, no events. */
async function measureOriginalCadence(count) {
  const sharedDir = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-cadence-'));
  const realm = startEmulatedRealm({
    script: nullRealm,
    model: 'no-model.tflite',
    labels: labelsFile(),
    sharedDir,
    pollMs: 5000,
  });
  const client = new RealmClient({
    sharedDir,
    realmStatus: realm.status,
    useFileEvents: false,
    pollMs: 5000,
  });
  const latency = [];
  try {
    let sent = 0;
    const results = await client.classify(images.slice(0, count), {
      onStart: () => {
        sent = performance.now();
      },
      onResult: () => latency.push(performance.now() - sent),
    });
    const failed = results.find((result) => result.error);
    if (failed) throw new Error(`${failed.image}: ${failed.error}`);
    return summarise(latency);
  } finally {
    await realm.stop();
    rmSync(sharedDir, { recursive: true, force: true });
  }
}

/**
 * Resolves once `check()` returns true, re-checking on every file event in `folder` and every
 * 20 ms in case an event is missed.
 */
function waitForFile(folder, check) {
  return new Promise((resolve) => {
    const finish = () => {
      if (!check()) return;
      watcher.close();
      clearInterval(timer);
      resolve();
    };
    const watcher = watch(folder, finish);
    const timer = setInterval(finish, 20);
    finish();
  });
}

/** Measures the share's round trip: host write, guest read and reply, host read of the reply. */
async function measurePropagation(board, shareDir, count) {
  await board.run(`sh ${guestShare}/guest-responder.sh pong ${guestShare} >/dev/null 2>&1 &`);
  const times = [];
  const ping = path.join(shareDir, 'ping');
  const pong = path.join(shareDir, 'pong');
  for (let index = 0; index <= count; index += 1) {
    // A query of the same shape as the client's, with a realm path of the same length.
    const name = `${guestShare}/cca-00000000-${index}-image${index % 10}.bmp`;
    const started = performance.now();
    writeFileAtomicSync(ping, `systemState: query\nfileName: ${name}\n`);
    await waitForFile(shareDir, () => {
      try {
        return readFileSync(pong, 'utf8') === `fileName: ${name}\n`;
      } catch {
        return false;
      }
    });
    if (index > 0) times.push(performance.now() - started);
    // As after the realm's reply, the guest's next polls read only the state line.
    writeFileAtomicSync(ping, 'systemState: processed\n');
  }
  await stopResponder(board, shareDir);
  return summarise(times);
}

async function stopResponder(board, shareDir) {
  writeFileSync(path.join(shareDir, 'stop'), '');
  await board.run('wait');
  rmSync(path.join(shareDir, 'stop'));
}

async function measureShare(rounds) {
  const unavailable = await boardUnavailable();
  if (unavailable) return { skipped: unavailable };
  const shareDir = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-9p-'));
  copyFileSync(responder, path.join(shareDir, 'guest-responder.sh'));
  const board = await startBoard(shareDir);
  try {
    const propagation = await measurePropagation(board, shareDir, 10 * rounds);
    const configurations = [
      { name: 'file events + 200 ms poll (client default)', useFileEvents: true, pollMs: 200 },
      { name: '200 ms poll, no events (fvpShare backend)', useFileEvents: false, pollMs: 200 },
    ];
    const protocol = [];
    for (const configuration of configurations) {
      await board.run(`sh ${guestShare}/guest-responder.sh realm ${guestShare} >/dev/null 2>&1 &`);
      const client = new RealmClient({
        sharedDir: shareDir,
        useFileEvents: configuration.useFileEvents,
        pollMs: configuration.pollMs,
        toRealmPath: (file) => path.posix.join(guestShare, path.basename(file)),
      });
      protocol.push({ ...configuration, ...(await runBatches(client, rounds)) });
      await stopResponder(board, shareDir);
    }
    return { propagation, protocol };
  } finally {
    await board.stop();
    rmSync(shareDir, { recursive: true, force: true });
  }
}

console.log(describeMachine());
const rounds = envNumber('BENCH_ROUNDS', 10);
const shareRounds = envNumber('BENCH_9P_ROUNDS', 3);
const cadenceImages = envNumber('BENCH_CADENCE_IMAGES', 4);
console.log(
  `Figure 1: protocol overhead per image, realm without inference; ${images.length} images ` +
    `x ${rounds} batches after a warm-up batch (9p: x ${shareRounds})\n`,
);

const local = await measureLocal(rounds);
console.log('Local folder (client and bench/null-realm.mjs, file events on both sides):');
console.log(`  per image in a batch:  ${formatMs(local.perImage)}`);
console.log(`  send to result:        ${formatMs(local.latency)}`);
console.log(`  realm side, query read to processed written: ${formatMs(local.realm)}`);
const localTarget = local.perImage.median <= 5 ? 'met' : 'missed';
console.log(`  target: median <= 5 ms per image: ${localTarget}\n`);

if (process.env.BENCH_SKIP_9P === '1') {
  console.log('QEMU 9p share: skipped (BENCH_SKIP_9P=1)\n');
} else {
  const share = await measureShare(shareRounds);
  if (share.skipped) {
    console.log(`QEMU 9p share: skipped, ${share.skipped}\n`);
  } else {
    console.log('QEMU 9p share (client on the host folder, guest-responder.sh in the guest):');
    console.log(
      `  share round trip (host write, guest read + reply, host read): ${formatMs(share.propagation)}`,
    );
    const rows = [['client', 'per image in a batch', 'send to result', 'per image / round trip']];
    for (const run of share.protocol) {
      rows.push([
        run.name,
        formatMs(run.perImage, 1),
        formatMs(run.latency, 1),
        (run.perImage.median / share.propagation.median).toFixed(2),
      ]);
    }
    printTable(rows);
    const best = Math.min(...share.protocol.map((run) => run.perImage.median));
    const shareTarget = best <= 2 * share.propagation.median ? 'met' : 'missed';
    console.log(`  target: per image <= 2 x the share's round trip: ${shareTarget}\n`);
  }
}

const cadence = await measureOriginalCadence(cadenceImages);
console.log(`Original cadence (both sides poll every 5 s, real sleeps), ${cadenceImages} images:`);
console.log(`  send to result: ${formatMs(cadence, 0)}`);
console.log(
  `  ratio to the local folder's send to result: ${(cadence.median / local.latency.median).toFixed(0)}x`,
);
