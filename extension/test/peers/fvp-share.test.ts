// Tests of the `fvpShare` backend across a real 9p share: the QEMU board mounts a fresh host
// folder at /mnt/shared, and the guest's realm_inference test double plays the realm on it,
// started as the realm's start script starts the binary. The client writes into the host folder
// and polls it, as it does with an FVP's bp.virtiop9device.root_path folder. Each test boots
// its own board and stops it by its process group.

import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QemuBoard } from '../../../scripts/test-peers/qemu-board.mjs' with {
  'resolution-mode': 'import',
};
import type { Logger } from '../../core/log';
import { RealmClient, type ImageResult } from '../../core/protocol/client';
import { createRealmFs } from '../../core/transport/backends';
import { dataDir } from '../unit/data';
import {
  GUEST_SHARE,
  doubleResults,
  logIn,
  openConsole,
  runCommand,
  startBoard,
  withDiagnostics,
  type BoardConsole,
} from './board-shell';

const MODEL = 'mobilenet_v1_0.25_128_quant.tflite';
const LABELS = 'labels.txt';
const IMAGES = ['image1.bmp', 'image2.bmp', 'image3.bmp'];
/** The double's polling interval in seconds; the binary's 5 s would only slow the tests. */
const REALM_POLL_SECONDS = 1;
/** Generous for one image at a 1 s realm poll, so that only a stalled realm times out. */
const IMAGE_TIMEOUT_MS = 30_000;
/** Short, for the stalled realm: several of the double's polls. */
const STALL_TIMEOUT_MS = 4_000;

let workDir: string;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-fvp-share-'));
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function collectingLog(lines: string[]): Logger {
  const add = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

function sampleImages(): string[] {
  return IMAGES.map((name) => path.join(dataDir(), 'images', name));
}

/** Creates a fresh share folder with the model and labels from the test data. */
async function newShare(): Promise<string> {
  const shareDir = await mkdtemp(path.join(workDir, 'share-'));
  await copyFile(path.join(dataDir(), 'models', MODEL), path.join(shareDir, MODEL));
  await copyFile(path.join(dataDir(), 'labels', LABELS), path.join(shareDir, LABELS));
  return shareDir;
}

/**
 * Logs in on ttyS0 and starts the double on the share as the realm's start script does, with
 * its output redirected to output.txt in the share.
 */
async function startRealmService(board: QemuBoard, imageCount: number): Promise<BoardConsole> {
  const ttyS0 = openConsole('ttyS0', board.ports[1]);
  await logIn(ttyS0.console, { late: true });
  const service =
    `CCA_STAND_IN_POLL_SECONDS=${REALM_POLL_SECONDS} realm_inference ` +
    `-l ${GUEST_SHARE}/${LABELS} -m ${GUEST_SHARE}/${MODEL} ` +
    `-S ${GUEST_SHARE}/signalling.txt -N ${imageCount} -x 1 > ${GUEST_SHARE}/output.txt 2>&1 &`;
  await runCommand(ttyS0.console, service);
  return ttyS0;
}

/** Creates the client as the extension does for the fvpShare backend. */
function shareClient(shareDir: string, timeoutMs: number, log: Logger) {
  const backend = createRealmFs({
    backend: 'fvpShare',
    sharedFolder: shareDir,
    realmFolder: GUEST_SHARE,
  });
  const client = new RealmClient({
    sharedDir: backend.sharedDir,
    fs: backend.fs,
    toRealmPath: backend.toRealmPath,
    pollMs: 100,
    timeoutMs,
    log,
  });
  return { backend, client };
}

describe('fvpShare backend over 9p', () => {
  test('classifies a batch through the double', async () => {
    const shareDir = await newShare();
    const labels = await readFile(path.join(shareDir, LABELS), 'utf8');
    const board = await startBoard(shareDir);
    const consoles: BoardConsole[] = [];
    const logLines: string[] = [];
    try {
      const ttyS0 = await startRealmService(board, IMAGES.length);
      consoles.push(ttyS0);
      const { backend, client } = shareClient(shareDir, IMAGE_TIMEOUT_MS, collectingLog(logLines));
      let results: ImageResult[];
      try {
        results = await client.classify(sampleImages());
      } finally {
        await backend.close();
      }

      assert.equal(results.length, IMAGES.length);
      for (const [position, image] of sampleImages().entries()) {
        const result = results[position];
        const expected = doubleResults(await readFile(image), labels);
        assert.equal(result?.image, image);
        assert.equal(result.error, null, `${image}: ${result.error}`);
        assert.deepEqual(result.top5[0], expected[0], `top-1 of ${image}`);
        assert.deepEqual(result.top5, expected, `top-5 of ${image}`);
        assert.equal(typeof result.ms, 'number');
      }

      // The realm opened the copies by their paths under /mnt/shared.
      const output = await readFile(path.join(shareDir, 'output.txt'), 'utf8');
      const opened = [...output.matchAll(/^INFO: settings->input_bmp_name: (.*)$/gm)].map(
        (match) => match[1] ?? '',
      );
      assert.equal(opened.length, IMAGES.length, output);
      for (const [position, name] of IMAGES.entries()) {
        const copy = opened[position] ?? '';
        assert.equal(path.posix.dirname(copy), GUEST_SHARE);
        assert.match(path.posix.basename(copy), new RegExp(`^cca-[0-9a-f]{8}-${position}-`));
        assert.ok(copy.endsWith(name), copy);
      }

      // The client removed its copies and left the batch's final state; the double exited.
      const left = (await readdir(shareDir)).filter((name) => name.endsWith('.bmp'));
      assert.deepEqual(left, []);
      assert.match(
        await readFile(path.join(shareDir, 'signalling.txt'), 'utf8'),
        /^systemState: finished\n/,
      );
      const exited = await runCommand(ttyS0.console, 'wait $!');
      assert.equal(exited.status, 0);
    } catch (error) {
      logLines.forEach((line) => consoles[0]?.log.lines.push(line));
      throw withDiagnostics(error, board, consoles);
    } finally {
      await Promise.all(consoles.map((entry) => entry.console.stop()));
      await board.stop();
    }
  });

  test('stalled realm times out naming the image', async () => {
    const shareDir = await newShare();
    const labels = await readFile(path.join(shareDir, LABELS), 'utf8');
    const board = await startBoard(shareDir);
    const consoles: BoardConsole[] = [];
    const logLines: string[] = [];
    const [first, stalled, notSent] = sampleImages() as [string, string, string];
    try {
      consoles.push(await startRealmService(board, IMAGES.length));
      const { backend, client } = shareClient(shareDir, STALL_TIMEOUT_MS, collectingLog(logLines));
      let results: ImageResult[];
      try {
        // The first image shows that the realm serves queries. Then it stalls before the next one.
        results = await client.classify([first, stalled, notSent], {
          onResult: async (_result, position) => {
            if (position === 0) await writeFile(path.join(shareDir, 'stall'), '');
          },
        });
      } finally {
        await backend.close();
      }

      assert.equal(results[0]?.error, null, results[0]?.error ?? '');
      assert.deepEqual(results[0]?.top5, doubleResults(await readFile(first), labels));

      const timedOut = results[1];
      assert.equal(timedOut?.image, stalled);
      assert.equal(timedOut.ms, null);
      assert.deepEqual(timedOut.top5, []);
      assert.match(timedOut.error ?? '', /timed out after 4 s/);
      // It names the image by its copy's path in the realm.
      assert.match(timedOut.error ?? '', /for \/mnt\/shared\/cca-[0-9a-f]{8}-1-image2\.bmp /);

      assert.equal(results[2]?.image, notSent);
      assert.match(results[2]?.error ?? '', /^not sent: the realm stopped responding at /);
      assert.ok(results[2]?.error?.includes(stalled), results[2]?.error ?? '');

      // The query was withdrawn, so the realm does not run it after the client left.
      assert.match(
        await readFile(path.join(shareDir, 'signalling.txt'), 'utf8'),
        /^systemState: finished\n/,
      );
    } catch (error) {
      logLines.forEach((line) => consoles[0]?.log.lines.push(line));
      throw withDiagnostics(error, board, consoles);
    } finally {
      await Promise.all(consoles.map((entry) => entry.console.stop()));
      await board.stop();
    }
  });
});
