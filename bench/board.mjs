// The QEMU board (scripts/test-peers/qemu-board.mjs) with a shell on its first console, for the
// benchmarks over its 9p share. The board needs `node scripts/test-peers/setup.mjs` once.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { load, root } from './lib.mjs';

const bootTimeoutMs = 90_000;
const replyTimeoutMs = 30_000;
/** Busybox ash's root prompt, which it follows with a cursor position request (ESC [ 6 n). */
const rootPrompt = /# (?:.\[6n)?$/;

/** Returns why the board cannot start here, or undefined when it can. */
export async function boardUnavailable() {
  const { manifestPath } = await import(path.join(root, 'scripts/test-peers/paths.mjs'));
  if (!existsSync(manifestPath())) {
    return `${manifestPath()} not found: run \`node scripts/test-peers/setup.mjs\` first`;
  }
  return undefined;
}

/**
 * Starts the board with `shareDir` as its 9p share (mounted at /mnt/shared in the guest), logs
 * in as root on ttyAMA0, and returns `{ run(command), stop() }`. `run` returns the command's
 * output without carriage returns.
 */
export async function startBoard(shareDir) {
  const { freePorts, startQemuBoard } = await import(
    path.join(root, 'scripts/test-peers/qemu-board.mjs')
  );
  const { TelnetConsole } = load('core/telnet/console.js');
  const ports = await freePorts(4);
  // The guest starts once the console is connected, so the login prompt is not missed.
  const board = await startQemuBoard({ ports, shareDir, waitForClient: true });
  const console = new TelnetConsole({
    name: 'ttyAMA0',
    host: '127.0.0.1',
    port: ports[0],
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  try {
    console.start();
    await console.waitFor(/login: $/, bootTimeoutMs);
    console.sendLine('root');
    await console.waitFor('Password: ', replyTimeoutMs);
    console.sendLine('root');
    await console.waitFor(rootPrompt, replyTimeoutMs);
  } catch (error) {
    await console.stop();
    await board.stop();
    throw new Error(`the QEMU board did not give a shell: ${error.message}`, { cause: error });
  }

  let count = 0;
  return {
    async run(command, timeoutMs = replyTimeoutMs) {
      count += 1;
      const id = `@@bench${count}`;
      const pattern = new RegExp(`${id}-begin\\r\\n([\\s\\S]*?)${id}-end (\\d+)\\r\\n`);
      const reply = console.waitFor(pattern, timeoutMs);
      // printf prints the markers, so the echo of the typed line never matches them. A
      // background command ends with `&`, after which `;` would be a syntax error.
      const separator = /&\s*$/.test(command) ? ' ' : '; ';
      console.sendLine(
        `printf '%s-begin\\n' '${id}'; ${command}${separator}` +
          `printf '%s-end %s\\n' '${id}' "$?"`,
      );
      const match = pattern.exec(await reply);
      const output = (match?.[1] ?? '').replaceAll('\r', '');
      if (match?.[2] !== '0') throw new Error(`${command} failed (${match?.[2]}): ${output}`);
      return output;
    },
    async stop() {
      await console.stop();
      await board.stop();
    },
  };
}
