// Tests of the project's realm-side scripts in the QEMU board's guest, whose busybox ash is the
// shell of a buildroot realm. realm/cca-inference-service.sh runs inside a realm of the lkvm
// stand-in, where it mounts the 9p share and starts the guest's realm_inference test double.
// normal_world/cca-signal.sh runs in the normal world and sends images to that service. The
// scripts reach the guest through the host share folder. Each test boots its own board and
// stops it by its process group.

import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QemuBoard } from '../../../scripts/test-peers/qemu-board.mjs' with {
  'resolution-mode': 'import',
};
import { dataDir, repositoryRoot } from '../unit/data';
import {
  GUEST_SHARE,
  REALM_SHARE,
  doubleResults,
  enterRealm,
  logIn,
  openConsole,
  resultLine,
  runCommand,
  startBoard,
  withDiagnostics,
  type BoardConsole,
} from './board-shell';

const SERVICE_SCRIPT = 'cca-inference-service.sh';
const SIGNAL_SCRIPT = 'cca-signal.sh';
const MODEL = 'mobilenet_v1_0.25_128_quant.tflite';
/** The model's name in the project's realm/ folder, the service script's default. */
const DEFAULT_MODEL = 'mobilenet_v1_1.0_224.tflite';
const LABELS = 'labels.txt';
const IMAGES = ['image1.bmp', 'image2.bmp'];
/** The double's polling interval in seconds; the binary's 5 s would only slow the tests. */
const POLL_ENV = 'CCA_STAND_IN_POLL_SECONDS=1';
/** Enough for one image at a 1 s realm poll. */
const SIGNAL_TIMEOUT_MS = 60_000;
const SERVICE_TIMEOUT_MS = 30_000;
const STATUS_PREFIX = 'cca-inference-service: ';

let workDir: string;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-realm-scripts-'));
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Creates a share folder with both scripts, the model, the labels and the sample images. */
async function newShare(): Promise<string> {
  const shareDir = await mkdtemp(path.join(workDir, 'share-'));
  await copyFile(
    path.join(repositoryRoot, 'realm', SERVICE_SCRIPT),
    path.join(shareDir, SERVICE_SCRIPT),
  );
  await copyFile(
    path.join(repositoryRoot, 'normal_world', SIGNAL_SCRIPT),
    path.join(shareDir, SIGNAL_SCRIPT),
  );
  await copyFile(path.join(dataDir(), 'models', MODEL), path.join(shareDir, MODEL));
  await copyFile(path.join(dataDir(), 'labels', LABELS), path.join(shareDir, LABELS));
  await mkdir(path.join(shareDir, 'in'));
  for (const image of IMAGES) {
    await copyFile(path.join(dataDir(), 'images', image), path.join(shareDir, 'in', image));
  }
  return shareDir;
}

/**
 * Logs in on ttyS0, puts the service script, the model (under the default name) and the labels
 * in the root folder as the realm/ overlay does, and starts a realm there.
 */
async function openRealm(board: QemuBoard): Promise<BoardConsole> {
  const realm = openConsole('ttyS0', board.ports[1]);
  await logIn(realm.console, { late: true });
  const install = await runCommand(
    realm.console,
    `cp ${GUEST_SHARE}/${SERVICE_SCRIPT} ${GUEST_SHARE}/${LABELS} / && ` +
      `cp ${GUEST_SHARE}/${MODEL} /${DEFAULT_MODEL}`,
  );
  assert.equal(install.status, 0, install.output);
  await enterRealm(realm);
  return realm;
}

/** Runs the service script in the realm with `args` and returns its output lines and status. */
async function service(realm: BoardConsole, args: string) {
  const { output, status } = await runCommand(
    realm.console,
    `${POLL_ENV} sh /${SERVICE_SCRIPT} ${args} 2>&1`,
    SERVICE_TIMEOUT_MS,
  );
  const lines = output.trimEnd().split('\n');
  return { lines, status, last: lines.at(-1) ?? '' };
}

/** Returns the arguments of a process in the realm, from /proc/PID/cmdline. */
async function processArguments(realm: BoardConsole, pid: string): Promise<string> {
  const { output } = await runCommand(realm.console, `tr '\\0' ' ' < /proc/${pid}/cmdline`);
  return output;
}

async function isRunning(realm: BoardConsole, pid: string): Promise<boolean> {
  const { output } = await runCommand(realm.console, `cat /proc/${pid}/comm 2>/dev/null`);
  return output === 'realm_inference\n';
}

function startedPid(line: string): string {
  const match = /^cca-inference-service: started pid (\d+) with -N \d+$/.exec(line);
  assert.ok(match, `not a start status line: ${line}`);
  return match[1] ?? '';
}

describe('realm-side scripts in the guest', () => {
  test('service script starts, keeps and restarts', async () => {
    const shareDir = await newShare();
    await writeFile(path.join(shareDir, 'bad-model.tflite'), 'not a flatbuffer\n');
    const board = await startBoard(shareDir);
    const consoles: BoardConsole[] = [];
    try {
      const realm = await openRealm(board);
      consoles.push(realm);
      const realmModel = `/${DEFAULT_MODEL}`;

      // First start: the realm has no mount of the share yet, and the defaults name the files
      // beside the script.
      const first = await service(realm, '-n 2');
      assert.equal(first.status, 0, first.lines.join('\n'));
      assert.equal(first.lines[0], `${STATUS_PREFIX}mounted 9p tag 'sh' at ${REALM_SHARE}`);
      const firstPid = startedPid(first.last);
      // The double is a script: `/bin/sh PATH_OF_REALM_INFERENCE ARGUMENTS`.
      const firstArguments = await processArguments(realm, firstPid);
      assert.match(firstArguments, /^\/bin\/sh \S+\/realm_inference -l /);
      assert.ok(
        firstArguments.endsWith(
          ` -l /labels.txt -m ${realmModel} -S ${REALM_SHARE}/signalling.txt -N 2 -x 1 `,
        ),
        firstArguments,
      );
      const mounts = await runCommand(realm.console, `grep ' ${REALM_SHARE} 9p ' /proc/mounts`);
      assert.equal(mounts.status, 0, 'the share is mounted in the realm');
      const output = await readFile(path.join(shareDir, 'output.txt'), 'utf8');
      assert.match(output, new RegExp(`^INFO: Loaded model ${realmModel}\n`));
      assert.match(output, /^INFO: checkSystemStateAndGetFilename-+ $/m);

      // The same -N: the running service is kept, and the status line reports it.
      const same = await service(realm, '-n 2');
      assert.equal(same.status, 0, same.lines.join('\n'));
      assert.deepEqual(same.lines, [
        `${STATUS_PREFIX}9p share already mounted at ${REALM_SHARE}`,
        `${STATUS_PREFIX}already running pid ${firstPid} with -N 2 (0 of 2 images done, per ` +
          `${REALM_SHARE}/output.txt); not restarted`,
      ]);
      assert.ok(await isRunning(realm, firstPid));

      // A new -N: the running service stops and a new one starts.
      const changed = await service(realm, '-n 3');
      assert.equal(changed.status, 0, changed.lines.join('\n'));
      assert.equal(
        changed.lines[1],
        `${STATUS_PREFIX}stopping realm_inference pid ${firstPid}: it runs with -N 2, not -N 3`,
      );
      const secondPid = startedPid(changed.last);
      assert.notEqual(secondPid, firstPid);
      assert.equal(await isRunning(realm, firstPid), false);
      assert.match(await processArguments(realm, secondPid), / -N 3 -x 1 $/);

      // Invalid files: an error status line, and the running service is left alone.
      const missing = await service(realm, `-n 4 -m ${REALM_SHARE}/missing.tflite`);
      assert.equal(missing.status, 1);
      assert.equal(
        missing.last,
        `${STATUS_PREFIX}error: model ${REALM_SHARE}/missing.tflite not found; give its ` +
          'path with -m',
      );
      const bad = await service(realm, `-n 4 -m ${REALM_SHARE}/bad-model.tflite`);
      assert.equal(bad.status, 1);
      assert.equal(
        bad.last,
        `${STATUS_PREFIX}error: model ${REALM_SHARE}/bad-model.tflite is not a TensorFlow ` +
          'Lite model: no TFL3 identifier at byte offset 4',
      );
      const noLabels = await service(realm, `-n 4 -l ${REALM_SHARE}/missing.txt`);
      assert.equal(noLabels.status, 1);
      assert.match(noLabels.last, /^cca-inference-service: error: labels file \S+ not found/);
      const noCount = await service(realm, '-m /x.tflite');
      assert.equal(noCount.status, 2);
      assert.match(noCount.last, /^cca-inference-service: error: missing -n COUNT/);
      assert.ok(await isRunning(realm, secondPid));
      assert.match(await processArguments(realm, secondPid), / -N 3 -x 1 $/);
    } catch (error) {
      throw withDiagnostics(error, board, consoles);
    } finally {
      await Promise.all(consoles.map((entry) => entry.console.stop()));
      await board.stop();
    }
  });

  test('signal script classifies two images', async () => {
    const shareDir = await newShare();
    const labels = await readFile(path.join(shareDir, LABELS), 'utf8');
    const board = await startBoard(shareDir);
    const consoles: BoardConsole[] = [];
    try {
      const realm = await openRealm(board);
      consoles.push(realm);
      const normal = openConsole('ttyS1', board.ports[2]);
      consoles.push(normal);
      await logIn(normal.console, { late: true });
      const images = IMAGES.map((name) => `/root/input_data/${name}`);
      const copied = await runCommand(
        normal.console,
        `mkdir -p /root/input_data && cp ${GUEST_SHARE}/in/*.bmp /root/input_data/`,
      );
      assert.equal(copied.status, 0, copied.output);

      const started = await service(
        realm,
        `-n 2 -m ${REALM_SHARE}/${MODEL} -l ${REALM_SHARE}/${LABELS}`,
      );
      assert.equal(started.status, 0, started.lines.join('\n'));
      const pid = startedPid(started.last);

      const signalled = await runCommand(
        normal.console,
        `sh ${GUEST_SHARE}/${SIGNAL_SCRIPT} -p 0.2 ${images.join(' ')}`,
        SIGNAL_TIMEOUT_MS,
      );
      assert.equal(signalled.status, 0, signalled.output);
      const expected: string[] = [];
      for (const [position, name] of IMAGES.entries()) {
        const bytes = await readFile(path.join(shareDir, 'in', name));
        expected.push(`${images[position]}:`, ...doubleResults(bytes, labels).map(resultLine));
      }
      assert.equal(signalled.output, `${expected.join('\n')}\n`);

      // The service served its two images and exited; the copies are gone.
      assert.equal(await isRunning(realm, pid), false);
      assert.equal(
        await readFile(path.join(shareDir, 'signalling.txt'), 'utf8'),
        'systemState: finished\nfileName: \n',
      );
      const copies = (await readdir(shareDir)).filter((name) => name.startsWith('cca-signal-'));
      assert.deepEqual(copies, []);

      // A stalled realm: the timeout names the image and leaves the copy.
      const restarted = await service(
        realm,
        `-n 1 -m ${REALM_SHARE}/${MODEL} -l ${REALM_SHARE}/${LABELS}`,
      );
      startedPid(restarted.last);
      await writeFile(path.join(shareDir, 'stall'), '');
      const stalled = await runCommand(
        normal.console,
        `sh ${GUEST_SHARE}/${SIGNAL_SCRIPT} -p 0.2 -t 3 ${images[1]} 2>&1`,
        SIGNAL_TIMEOUT_MS,
      );
      assert.equal(stalled.status, 1, stalled.output);
      assert.match(
        stalled.output,
        new RegExp(
          `^cca-signal: error: timed out after 3 s waiting for the realm's result for ` +
            `${images[1]}; check that the inference service runs \\(the copy ` +
            `${REALM_SHARE}/cca-signal-\\d+-1-image2\\.bmp stays in the shared folder\\)\\n$`,
        ),
      );
      assert.equal(
        await readFile(path.join(shareDir, 'signalling.txt'), 'utf8'),
        'systemState: finished\nfileName: \n',
        'the query is withdrawn',
      );
    } catch (error) {
      throw withDiagnostics(error, board, consoles);
    } finally {
      await Promise.all(consoles.map((entry) => entry.console.stop()));
      await board.stop();
    }
  });
});
