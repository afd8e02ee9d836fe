// Helpers for tests that drive the QEMU board's guest over its telnet consoles. They start the
// board with a host share, log in, and run shell commands for their output and exit status.
// They also compute what the guest's realm_inference test double prints for an image.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { QemuBoard } from '../../../scripts/test-peers/qemu-board.mjs' with {
  'resolution-mode': 'import',
};
import type { Logger } from '../../core/log';
import type { Prediction } from '../../core/protocol/output';
import { TelnetConsole } from '../../core/telnet/console';

const qemuBoard = () => import('../../../scripts/test-peers/qemu-board.mjs');

/**
 * The board boots in about 2 s under TCG on 2 cores, so the limit leaves room for a busy
 * machine.
 */
export const BOOT_TIMEOUT_MS = 60_000;
export const REPLY_TIMEOUT_MS = 15_000;
/** The share as the guest's normal world mounts it (QEMU's 9p tag `sh`). */
export const GUEST_SHARE = '/mnt/shared';
/** GuaranTEE's shared folder: a bind of the share in the normal world, the realm's mount point. */
export const REALM_SHARE = '/root/shared_with_realm';
/** GuaranTEE's command for the realm, with the stand-in's kernel and initrd placeholders. */
export const REALM_COMMAND =
  'lkvm run --realm -c 1 -m 300 -k /realm/Image -i /realm/realm-fs.cpio ' +
  `--9p ${REALM_SHARE},sh --irqchip=gicv3 --disable-sve`;
/**
 * A shell prompt of root at the end of the output. Busybox ash then requests the cursor position
 * with ESC [ 6 n, whose ESC the `.` matches.
 */
const ROOT_PROMPT = /# (?:.\[6n)?$/;

/** A console of the board with all its output kept as text. */
export interface BoardConsole {
  console: TelnetConsole;
  log: Logger & { lines: string[] };
  /** Everything received so far, with carriage returns removed. */
  text(): string;
}

/** Result of a shell command typed on a console. */
export interface CommandResult {
  /** What the command printed, carriage returns removed. */
  output: string;
  status: number;
}

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

/**
 * Starts the board on four free ports, with `shareDir` as its 9p share when given. With
 * `waitForClient`, the guest starts only once a client connects to its first console.
 */
export async function startBoard(
  shareDir?: string,
  { waitForClient = false } = {},
): Promise<QemuBoard> {
  const { freePorts, startQemuBoard } = await qemuBoard();
  const ports = await freePorts(4);
  return startQemuBoard({ ports, shareDir, waitForClient });
}

/** Connects a telnet console to one of the board's ports and keeps its output. */
export function openConsole(name: string, port: number | undefined): BoardConsole {
  assert.ok(port !== undefined, `no port for ${name}`);
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
export async function connected(console: TelnetConsole): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (console.state !== 'connected') {
    if (Date.now() > deadline) throw new Error(`console not connected: ${console.state}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Logs in as root/root and waits for the shell prompt. With `late`, the client connected after
 * the board printed `login:`, so it sends carriage returns until a new prompt comes.
 */
export async function logIn(console: TelnetConsole, { late = false } = {}): Promise<void> {
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

/**
 * Starts a realm with `lkvm run` on a logged-in normal-world console and logs in to it, so that
 * the console's shell is then the realm's.
 */
export async function enterRealm(board: BoardConsole): Promise<void> {
  const login = board.console.waitFor(/buildroot login: $/, BOOT_TIMEOUT_MS);
  board.console.sendLine(REALM_COMMAND);
  await login;
  await logIn(board.console);
}

let commandCount = 0;

/**
 * Runs a shell command on a logged-in console and returns its output and exit status. The
 * markers around the output are printed with printf, so the echo of the typed line never
 * matches them. `$last` in the command is the exit status of the previous command.
 */
export async function runCommand(
  console: TelnetConsole,
  command: string,
  timeoutMs = REPLY_TIMEOUT_MS,
): Promise<CommandResult> {
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

/** Adds what the board's QEMU and the consoles logged to the error of a failed test. */
export function withDiagnostics(error: unknown, board: QemuBoard, consoles: BoardConsole[]): Error {
  const logs = consoles.map((console) => {
    return `${console.log.lines.join('\n')}\n${console.text().slice(-3000)}`;
  });
  return new Error(`${String(error)}\nQEMU: ${board.output()}\n${logs.join('\n---\n')}`, {
    cause: error,
  });
}

/**
 * Returns the predictions the guest's realm_inference test double prints for an image, by the
 * rule in its header: with D the image's MD5 digest in hex and L the number of labels, class k
 * (k = 0..4) is int(D[6k:6k+6], 16) mod L, moved to the next free index when an earlier class
 * took it. The confidences, in thousandths, are 500 + int(D[30:32], 16), then half of the rest,
 * then half of the previous one (integer division).
 */
export function doubleResults(image: Uint8Array, labelsText: string): Prediction[] {
  const digest = createHash('md5').update(image).digest('hex');
  const labels = labelsText.split('\n');
  if (labelsText.endsWith('\n')) labels.pop();
  const modulus = labels.length > 0 ? labels.length : 1001;

  const predictions: Prediction[] = [];
  const taken = new Set<number>();
  let thousandths = 500 + parseInt(digest.slice(30, 32), 16);
  for (let k = 0; k < Math.min(5, modulus); k += 1) {
    let index = parseInt(digest.slice(6 * k, 6 * k + 6), 16) % modulus;
    while (taken.has(index)) index = (index + 1) % modulus;
    taken.add(index);
    predictions.push({ index, label: labels[index] ?? '', confidence: thousandths / 1000 });
    thousandths = k === 0 ? Math.floor((1000 - thousandths) / 2) : Math.floor(thousandths / 2);
  }
  return predictions;
}

/** Formats a prediction as the double prints it in output.txt. */
export function resultLine(prediction: Prediction): string {
  return `INFO: ${prediction.confidence}: ${prediction.index} ${prediction.label}`;
}
