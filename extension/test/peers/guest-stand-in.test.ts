// Tests of the FVP stand-in inside the QEMU board's guest (scripts/test-peers/guest/). They
// cover the firmware banners on the consoles, the lkvm stand-in that plays a realm on the
// console, the realm's 9p mount of an lkvm --9p tag, and the realm_inference test double over
// the board's real 9p share. Each test boots its own board and stops it by its process group.
// The board comes from scripts/test-peers/setup.mjs; without it these tests fail with the
// command to run.

import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDir } from '../unit/data';
import {
  BOOT_TIMEOUT_MS,
  REALM_COMMAND,
  REALM_SHARE,
  REPLY_TIMEOUT_MS,
  connected,
  doubleResults,
  logIn,
  openConsole,
  resultLine,
  runCommand as run,
  startBoard,
  withDiagnostics,
  type BoardConsole,
} from './board-shell';

/** The realm_inference double polls every 5 s, as the binary does, so one image needs one poll. */
const ANSWER_TIMEOUT_MS = 20_000;
const MODEL = 'mobilenet_v1_0.25_128_quant.tflite';

let workDir: string;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-guest-stand-in-'));
});

after(async () => {
  // Files the guest wrote are root-owned on the host, which this test also runs as.
  await rm(workDir, { recursive: true, force: true });
});

/**
 * Starts `lkvm run` on a logged-in console and logs in to the realm. Returns the output from
 * the command to the realm's `login:` prompt.
 */
async function startRealm(board: BoardConsole, command: string): Promise<string> {
  const start = board.text().length;
  const login = board.console.waitFor(/buildroot login: $/, BOOT_TIMEOUT_MS);
  board.console.sendLine(command);
  await login;
  const output = board.text().slice(start);
  await logIn(board.console);
  return output;
}

/** Writes the signalling file as the normal-world client does: a temporary file, then rename. */
async function writeSignalling(shareDir: string, text: string): Promise<void> {
  const file = path.join(shareDir, 'signalling.txt');
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** Polls a host file until `predicate` accepts its text, and returns that text. */
async function waitForFile(
  file: string,
  predicate: (text: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (predicate(text)) return text;
    if (Date.now() > deadline) {
      throw new Error(`${file} did not reach the expected state in ${timeoutMs} ms:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('FVP stand-in in the QEMU guest', () => {
  test('firmware banners on ttyAMA0 and ttyS2', async () => {
    const board = await startBoard(undefined, { waitForClient: true });
    // ttyS2 (terminal_3) connects first, because the guest starts once ttyAMA0 has a client.
    const rmm = openConsole('ttyS2', board.ports[3]);
    await connected(rmm.console);
    const uart0 = openConsole('ttyAMA0', board.ports[0]);
    try {
      await uart0.console.waitFor(/buildroot login: $/, BOOT_TIMEOUT_MS, { includeRecent: true });
      const text = uart0.text();

      // boot.sh validate greps these in uart0.log.
      assert.match(text, /^NOTICE: {2}Booting Trusted Firmware$/m);
      assert.match(text, /^NOTICE: {2}BL31: v2\.10\.0\(debug\):\S+$/m);
      assert.match(text, /^INFO: Hafnium initialisation completed$/m);
      assert.match(text, /^INFO: {4}RMM init end\.$/m);
      assert.match(text, /\nWelcome to Buildroot\nbuildroot login: $/);
      assert.ok(text.indexOf('RMM init end') < text.indexOf('Welcome to Buildroot'));

      await rmm.console.waitFor(/Booting RMM v\.0\.4\.0/, REPLY_TIMEOUT_MS, {
        includeRecent: true,
      });
      assert.match(rmm.text(), /^RMI\/RSI ABI v\.1\.0\/1\.0 built: /m);
    } catch (error) {
      throw withDiagnostics(error, board, [uart0, rmm]);
    } finally {
      await Promise.all([uart0.console.stop(), rmm.console.stop()]);
      await board.stop();
    }
  });

  test('lkvm run --realm to login and poweroff', async () => {
    const board = await startBoard();
    const ttyS0 = openConsole('ttyS0', board.ports[1]);
    try {
      await logIn(ttyS0.console, { late: true });
      const boot = await startRealm(ttyS0, REALM_COMMAND);

      assert.match(boot, /^ {2}# lkvm run -k \/realm\/Image -m 300 -c 1 --name guest-\d+$/m);
      assert.match(boot, /^\[ {4}\d\.\d{6}\] Booting Linux on physical CPU /m);
      assert.match(boot, /^\[ *\d+\.\d{6}\] RME: Using RSI version 1\.0$/m);
      assert.match(boot, /\nWelcome to Buildroot\nbuildroot login: $/);
      assert.equal((await run(ttyS0.console, 'echo "$CCA_STAND_IN_WORLD"')).output, 'realm\n');
      assert.equal((await run(ttyS0.console, 'cat /proc/1/comm')).output, 'realm-session\n');

      const start = ttyS0.text().length;
      const end = ttyS0.console.waitFor(/KVM session ended normally\.\r\n/, REPLY_TIMEOUT_MS);
      ttyS0.console.sendLine('poweroff');
      await end;
      const shutdown = ttyS0.text().slice(start);
      assert.match(shutdown, /^Requesting system poweroff$/m);
      assert.match(shutdown, /^\[ *\d+\.\d{6}\] reboot: Power down\n\n {2}# KVM session/m);

      const afterRealm = await run(ttyS0.console, 'echo "lkvm $last $CCA_STAND_IN_WORLD"');
      assert.equal(afterRealm.output, 'lkvm 0 normal\n');
    } catch (error) {
      throw withDiagnostics(error, board, [ttyS0]);
    } finally {
      await ttyS0.console.stop();
      await board.stop();
    }
  });

  test('lkvm errors without CCA and kernel', async () => {
    const board = await startBoard();
    const ttyS0 = openConsole('ttyS0', board.ports[1]);
    try {
      await logIn(ttyS0.console, { late: true });

      await run(ttyS0.console, 'touch /etc/lkvm-no-realm');
      const noRealm = await run(ttyS0.console, `${REALM_COMMAND} 2>&1`);
      assert.equal(noRealm.status, 129);
      assert.match(noRealm.output, /^ {2}Error: unknown option `realm'\n\n usage: lkvm run /);
      assert.match(noRealm.output, /^ {8}--disable-sve {5}\S/m);
      assert.doesNotMatch(noRealm.output, /--realm|# lkvm run/);
      await run(ttyS0.console, 'rm /etc/lkvm-no-realm');

      const byVariable = await run(ttyS0.console, `LKVM_NO_REALM=1 ${REALM_COMMAND} 2>&1`);
      assert.equal(byVariable.status, 129);
      assert.match(byVariable.output, /^ {2}Error: unknown option `realm'$/m);

      const noKernel = await run(ttyS0.console, 'lkvm run --realm -k /realm/missing -c 1 2>&1');
      assert.equal(noKernel.status, 128);
      assert.match(
        noKernel.output,
        /^ {2}# lkvm run -k \/realm\/missing -m 256 -c 1 --name guest-\d+\n {2}Fatal: Unable to open kernel \/realm\/missing\n$/,
      );

      const infoStyle = await run(
        ttyS0.console,
        'LKVM_LOG_STYLE=info lkvm run --realm -k /realm/missing -c 1 2>&1',
      );
      assert.match(infoStyle.output, /^ {2}Info: # lkvm run -k \/realm\/missing -m 256 -c 1 /);

      const badOption = await run(ttyS0.console, 'lkvm run --realm --frobnicate 2>&1');
      assert.equal(badOption.status, 129);
      assert.match(badOption.output, /^ {2}Error: unknown option `frobnicate'$/m);
    } catch (error) {
      throw withDiagnostics(error, board, [ttyS0]);
    } finally {
      await ttyS0.console.stop();
      await board.stop();
    }
  });

  test('realm mounts its 9p tag; lkvm stop', async () => {
    const shareDir = await mkdtemp(path.join(workDir, 'share-'));
    const marker = `written by the host at ${Date.now()}`;
    await writeFile(path.join(shareDir, 'marker.txt'), `${marker}\n`);
    const board = await startBoard(shareDir);
    const ttyS0 = openConsole('ttyS0', board.ports[1]);
    const ttyS1 = openConsole('ttyS1', board.ports[2]);
    try {
      await logIn(ttyS0.console, { late: true });
      await startRealm(ttyS0, `${REALM_COMMAND} --name realm-9p`);

      // The realm starts without the normal world's mounts of the share.
      assert.equal((await run(ttyS0.console, `ls ${REALM_SHARE}`)).output, '');
      const mounted = await run(
        ttyS0.console,
        'mkdir -p /tmp/realm-share && mount -t 9p -o trans=virtio sh /tmp/realm-share && ' +
          'cat /tmp/realm-share/marker.txt',
      );
      assert.deepEqual(mounted, { output: `${marker}\n`, status: 0 });
      await run(ttyS0.console, 'echo written by the realm > /tmp/realm-share/from-realm.txt');
      assert.equal(
        await readFile(path.join(shareDir, 'from-realm.txt'), 'utf8'),
        'written by the realm\n',
      );

      const unknownTag = await run(ttyS0.console, 'mount -t 9p nosuch /tmp/realm-share 2>&1');
      assert.deepEqual(unknownTag, {
        output: 'mount: mounting nosuch on /tmp/realm-share failed: No such file or directory\n',
        status: 255,
      });

      await logIn(ttyS1.console, { late: true });
      const list = await run(ttyS1.console, 'lkvm list');
      assert.match(list.output, /^ {3}PID NAME {17}STATE\n-{36}\n *\d+ realm-9p {13}running\n$/);

      const end = ttyS0.console.waitFor(/KVM session ended normally\.\r\n/, REPLY_TIMEOUT_MS);
      assert.equal((await run(ttyS1.console, 'lkvm stop --name realm-9p')).status, 0);
      await end;
      const normal = await run(
        ttyS0.console,
        'echo "$last $CCA_STAND_IN_WORLD"; grep -c realm-share /proc/mounts',
      );
      assert.equal(normal.output, '0 normal\n0\n');
      assert.match((await run(ttyS1.console, 'lkvm list')).output, /-\n$/);
    } catch (error) {
      throw withDiagnostics(error, board, [ttyS0, ttyS1]);
    } finally {
      await Promise.all([ttyS0.console.stop(), ttyS1.console.stop()]);
      await board.stop();
    }
  });

  test('realm_inference double over the share', async () => {
    const data = dataDir();
    const shareDir = await mkdtemp(path.join(workDir, 'share-'));
    await copyFile(path.join(data, 'labels', 'labels.txt'), path.join(shareDir, 'labels.txt'));
    await copyFile(path.join(data, 'models', MODEL), path.join(shareDir, MODEL));
    await copyFile(path.join(data, 'images', 'image1.bmp'), path.join(shareDir, 'image1.bmp'));
    await writeSignalling(shareDir, 'systemState: processed\nfileName: \n');
    const outputFile = path.join(shareDir, 'output.txt');
    const signallingFile = path.join(shareDir, 'signalling.txt');
    const service =
      `realm_inference -l ${REALM_SHARE}/labels.txt -m ${REALM_SHARE}/${MODEL} ` +
      `-S ${REALM_SHARE}/signalling.txt -N 1 -x 1 > ${REALM_SHARE}/output.txt 2>&1 &`;

    const board = await startBoard(shareDir);
    const ttyS0 = openConsole('ttyS0', board.ports[1]);
    try {
      await logIn(ttyS0.console, { late: true });
      await startRealm(ttyS0, REALM_COMMAND);
      assert.equal((await run(ttyS0.console, `mount -t 9p sh ${REALM_SHARE}`)).status, 0);

      // One query, written once the service polls, as the normal-world client would.
      await run(ttyS0.console, service);
      await waitForFile(outputFile, (text) => text.includes("become 'query'"), ANSWER_TIMEOUT_MS);
      await writeSignalling(shareDir, `systemState: query\nfileName: ${REALM_SHARE}/image1.bmp\n`);
      const signalling = await waitForFile(
        signallingFile,
        (text) => text.startsWith('systemState: processed'),
        ANSWER_TIMEOUT_MS,
      );
      assert.equal(signalling, 'systemState: processed\n');
      const exited = await run(ttyS0.console, 'wait $!');
      assert.equal(exited.status, 0);

      const output = (await readFile(outputFile, 'utf8')).split('\n');
      const image = await readFile(path.join(shareDir, 'image1.bmp'));
      const labels = await readFile(path.join(shareDir, 'labels.txt'), 'utf8');
      assert.deepEqual(output.slice(0, 3), [
        `INFO: Loaded model ${REALM_SHARE}/${MODEL}`,
        'INFO: Number of threads1',
        `INFO: checkSystemStateAndGetFilename${'-'.repeat(32)} `,
      ]);
      const queryLine = output.indexOf(
        `System state is 'query'. Filename: ${REALM_SHARE}/image1.bmp`,
      );
      assert.ok(queryLine > 3, output.join('\n'));
      assert.ok(output.slice(3, queryLine).every((line) => line.startsWith('Waiting for ')));
      assert.deepEqual(output.slice(queryLine + 1), [
        `INFO: settings->input_bmp_name: ${REALM_SHARE}/image1.bmp`,
        'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.',
        'INFO: Applied XNNPACK delegate.',
        ...doubleResults(image, labels).map(resultLine),
        '',
      ]);

      // A missing image ends the service with the binary's FATAL line and status.
      await writeSignalling(shareDir, `systemState: query\nfileName: ${REALM_SHARE}/missing.bmp\n`);
      await run(ttyS0.console, service);
      const fatal = await run(ttyS0.console, 'wait $!', ANSWER_TIMEOUT_MS);
      assert.equal(fatal.status, 255);
      const fatalOutput = await readFile(outputFile, 'utf8');
      assert.match(
        fatalOutput,
        /\nFATAL: input file \/root\/shared_with_realm\/missing\.bmp not found\n$/,
      );
      assert.equal(
        await readFile(signallingFile, 'utf8'),
        `systemState: query\nfileName: ${REALM_SHARE}/missing.bmp\n`,
      );

      // While `stall` is in the share, the service neither reads the signalling file nor writes.
      await writeFile(path.join(shareDir, 'stall'), '');
      await writeSignalling(shareDir, `systemState: query\nfileName: ${REALM_SHARE}/image1.bmp\n`);
      await run(ttyS0.console, `CCA_STAND_IN_POLL_SECONDS=1 ${service}`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.match(await readFile(signallingFile, 'utf8'), /^systemState: query\n/);
      assert.doesNotMatch(await readFile(outputFile, 'utf8'), /Waiting|input_bmp_name/);
      await rm(path.join(shareDir, 'stall'));
      await waitForFile(signallingFile, (text) => text.includes('processed'), ANSWER_TIMEOUT_MS);
      assert.equal((await run(ttyS0.console, 'wait $!', ANSWER_TIMEOUT_MS)).status, 0);
    } catch (error) {
      throw withDiagnostics(error, board, [ttyS0]);
    } finally {
      await ttyS0.console.stop();
      await board.stop();
    }
  });
});
