// Tests of the FVP stand-in inside the QEMU board's guest (scripts/test-peers/guest/). They
// cover the firmware banners on the consoles, the lkvm stand-in that plays a realm on the
// console, the realm's 9p mount of an lkvm --9p tag, and the realm_inference test double over
// the board's real 9p share. Each test boots its own board and stops it by its process group.
// The board comes from scripts/test-peers/setup.mjs; without it these tests fail with the
// command to run.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QemuBoard } from '../../../scripts/test-peers/qemu-board.mjs' with {
  'resolution-mode': 'import',
};
import type { Logger } from '../../core/log';
import { TelnetConsole } from '../../core/telnet/console';
import { dataDir } from '../unit/data';

const qemuBoard = () => import('../../../scripts/test-peers/qemu-board.mjs');

/** The board boots in about 2 s under TCG on 2 cores. The limit leaves room for a busy machine. */
const BOOT_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 15_000;
/** The realm_inference double polls every 5 s, as the binary does, so one image needs one poll. */
const ANSWER_TIMEOUT_MS = 20_000;
/**
 * A shell prompt of root at the end of the output. Busybox ash then requests the cursor position
 * with ESC [ 6 n, whose ESC the `.` matches.
 */
const ROOT_PROMPT = /# (?:.\[6n)?$/;
/** GuaranTEE's command for the realm, with the stand-in's kernel and initrd placeholders. */
const REALM_COMMAND =
  'lkvm run --realm -c 1 -m 300 -k /realm/Image -i /realm/realm-fs.cpio ' +
  '--9p /root/shared_with_realm,sh --irqchip=gicv3 --disable-sve';
/** The share as the normal world and, once mounted, the realm see it. */
const REALM_SHARE = '/root/shared_with_realm';
const MODEL = 'mobilenet_v1_0.25_128_quant.tflite';

let workDir: string;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-guest-stand-in-'));
});

after(async () => {
  // Files the guest wrote are root-owned on the host, which this test also runs as.
  await rm(workDir, { recursive: true, force: true });
});

/** Returns a Logger that keeps its messages, for the error of a failed test. */
function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return {
    lines,
    debug: push('debug'),
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
  };
}

/** A console of the board with all its output kept as text. */
interface BoardConsole {
  console: TelnetConsole;
  log: Logger & { lines: string[] };
  /** Everything received so far, with carriage returns removed. */
  text(): string;
}

function openConsole(name: string, port: number): BoardConsole {
  const log = memoryLogger();
  const console = new TelnetConsole({
    name,
    host: '127.0.0.1',
    port,
    // The retry delay stays short: QEMU drops console output while no client is connected.
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    log,
  });
  const chunks: string[] = [];
  console.onData((text) => chunks.push(text));
  console.start();
  return { console, log, text: () => chunks.join('').replaceAll('\r', '') };
}

/** Resolves once the console has connected, which QEMU needs before it prints anything. */
async function connected(console: TelnetConsole): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (console.state !== 'connected') {
    if (Date.now() > deadline) throw new Error(`console not connected: ${console.state}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Logs in as root/root at a busybox `login:` prompt, the board's or a realm's, and waits for
 * the shell prompt. With `late`, the client came after the prompt and sends carriage returns
 * until a new one comes.
 */
async function logIn(console: TelnetConsole, { late = false } = {}): Promise<void> {
  if (late) {
    await connected(console);
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    for (;;) {
      console.sendLine('');
      try {
        await console.waitFor(/login: $/, 2000);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  }
  console.sendLine('root');
  await console.waitFor('Password: ', REPLY_TIMEOUT_MS);
  console.sendLine('root');
  await console.waitFor(ROOT_PROMPT, REPLY_TIMEOUT_MS);
}

let commandCount = 0;

/**
 * Runs a shell command on a logged-in console and returns its output (carriage returns
 * removed) and exit status. The markers are printed with printf, so the echo of the typed line
 * never matches them. `$last` in the command is the status of the previous command.
 */
async function run(
  console: TelnetConsole,
  command: string,
  timeoutMs = REPLY_TIMEOUT_MS,
): Promise<{ output: string; status: number }> {
  commandCount += 1;
  const id = `@@${commandCount}`;
  const pattern = new RegExp(`${id}-begin\\r\\n([\\s\\S]*?)${id}-end (\\d+)\\r\\n`);
  const reply = console.waitFor(pattern, timeoutMs);
  // A background command ends with `&`, after which `;` would be a syntax error.
  const separator = /&\s*$/.test(command) ? ' ' : '; ';
  console.sendLine(
    `last=$?; printf '%s-begin\\n' '${id}'; ${command}${separator}` +
      `printf '%s-end %s\\n' '${id}' "$?"`,
  );
  const match = pattern.exec(await reply);
  assert.ok(match, `no reply to ${command}`);
  return { output: (match[1] ?? '').replaceAll('\r', ''), status: Number(match[2]) };
}

/** Starts the board and returns it with its four ports. */
async function startBoard(options: { shareDir?: string; waitForClient?: boolean } = {}) {
  const { freePorts, startQemuBoard } = await qemuBoard();
  const ports = await freePorts(4);
  const board: QemuBoard = await startQemuBoard({ ports, ...options });
  return board;
}

/** Adds what the board's QEMU and the consoles logged to the error of a failed test. */
function withDiagnostics(error: unknown, board: QemuBoard, consoles: BoardConsole[]): Error {
  const logs = consoles.map((console) => {
    return `${console.log.lines.join('\n')}\n${console.text().slice(-3000)}`;
  });
  return new Error(`${String(error)}\nQEMU: ${board.output()}\n${logs.join('\n---\n')}`, {
    cause: error,
  });
}

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

/**
 * Returns the result lines that the realm_inference double prints for an image. The classes
 * are the image's MD5 digest modulo the number of labels, a taken index moved to the next free
 * one. The confidences, in thousandths, start at 500 + the last digest byte and then halve the
 * rest.
 */
function expectedResultLines(image: Buffer, labelsText: string): string[] {
  const digest = createHash('md5').update(image).digest('hex');
  const labels = labelsText.split('\n');
  if (labelsText.endsWith('\n')) labels.pop();
  const modulus = labels.length > 0 ? labels.length : 1001;

  const lines: string[] = [];
  const taken = new Set<number>();
  let thousandths = 500 + parseInt(digest.slice(30, 32), 16);
  for (let k = 0; k < Math.min(5, modulus); k += 1) {
    let index = parseInt(digest.slice(6 * k, 6 * k + 6), 16) % modulus;
    while (taken.has(index)) index = (index + 1) % modulus;
    taken.add(index);
    lines.push(`INFO: ${thousandths / 1000}: ${index} ${labels[index] ?? ''}`);
    thousandths = k === 0 ? Math.floor((1000 - thousandths) / 2) : Math.floor(thousandths / 2);
  }
  return lines;
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
    const board = await startBoard({ waitForClient: true });
    // ttyS2 (terminal_3) connects first, because the guest starts once ttyAMA0 has a client.
    const rmm = openConsole('ttyS2', board.ports[3] ?? 0);
    await connected(rmm.console);
    const uart0 = openConsole('ttyAMA0', board.ports[0] ?? 0);
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
    const ttyS0 = openConsole('ttyS0', board.ports[1] ?? 0);
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
    const ttyS0 = openConsole('ttyS0', board.ports[1] ?? 0);
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
    const board = await startBoard({ shareDir });
    const ttyS0 = openConsole('ttyS0', board.ports[1] ?? 0);
    const ttyS1 = openConsole('ttyS1', board.ports[2] ?? 0);
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

    const board = await startBoard({ shareDir });
    const ttyS0 = openConsole('ttyS0', board.ports[1] ?? 0);
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
        ...expectedResultLines(image, labels),
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
