// TelnetConsole against real telnet servers: QEMU's consoles of an arm64 board (the stand-in for
// the FVP's UARTs), inetutils-telnetd and busybox telnetd. The peers come from
// scripts/test-peers/setup.mjs; without it these tests fail with the command to run.

import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Logger } from '../../core/log';
import { TelnetConsole, type ConsoleOptions, type ConsoleState } from '../../core/telnet/console';

const qemuBoard = () => import('../../../scripts/test-peers/qemu-board.mjs');
const telnetServers = () => import('../../../scripts/test-peers/telnet-servers.mjs');

const bootTimeoutMs = 60_000;
// The retry delay stays short: QEMU drops console output while no client is connected.
const fastRetry = { initialDelayMs: 20, maxDelayMs: 200 };

let workDir: string;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-telnet-peers-'));
});

after(async () => {
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

function newConsole(options: Partial<ConsoleOptions> & Pick<ConsoleOptions, 'name' | 'port'>) {
  const log = memoryLogger();
  const console = new TelnetConsole({ host: '127.0.0.1', reconnect: fastRetry, log, ...options });
  const output: string[] = [];
  console.onData((text) => output.push(text));
  const states: ConsoleState[] = [];
  console.onState((state) => states.push(state));
  return { console, log, states, text: () => output.join('') };
}

/** Writes an executable shell script for a telnet server to run per connection. */
async function writeProgram(name: string, body: string): Promise<string> {
  const file = path.join(workDir, name);
  await writeFile(file, `#!/bin/sh\n${body}`);
  await chmod(file, 0o755);
  return file;
}

/**
 * Logs in as root/root on a busybox getty whose `login:` prompt is on screen, and waits for the
 * shell prompt. Each prompt is awaited only in output after the line that leads to it, so an
 * earlier login's `Password:` is never taken for this one.
 */
async function logIn(console: TelnetConsole): Promise<void> {
  console.sendLine('root');
  await console.waitFor('Password: ', 10_000);
  console.sendLine('root');
  await console.waitFor(/# /, 10_000);
}

describe('TelnetConsole on QEMU', () => {
  test('boot log from power-on, login, uname, restart', async () => {
    const { freePorts, startQemuBoard } = await qemuBoard();
    const ports = await freePorts(4);
    // The guest starts only once a client is on ttyAMA0, so the first line is not lost.
    const board = await startQemuBoard({ ports, waitForClient: true });
    const logFile = path.join(workDir, 'qemu', 'ttyAMA0.log');
    const { console, log, states, text } = newConsole({ name: 'ttyAMA0', port: ports[0], logFile });
    try {
      console.start();
      await console.waitFor(/login: /, bootTimeoutMs);
      assert.match(text(), /^\s*\[\s*0\.000000\] Booting Linux on physical CPU/);
      assert.match(text(), /Linux version \S+/);
      assert.equal(await readFile(logFile, 'utf8'), text());

      await logIn(console);
      console.sendLine('uname -m');
      const output = await console.waitFor(/uname -m\r\n(.*)\r\n/, 10_000);
      assert.match(output, /\r\naarch64\r\n$/);

      // The console reconnects while restart() waits for QEMU's ports, so the wait starts first.
      const before = states.length;
      const prompt = console.waitFor(/login: /, 2 * bootTimeoutMs);
      await board.restart();
      await prompt;
      assert.deepEqual(states.slice(before, before + 2), ['lost', 'reconnecting']);
      assert.equal(states.at(-1), 'connected');
      await logIn(console);
    } catch (error) {
      throw new Error(
        `${String(error)}\nconsole log:\n${log.lines.join('\n')}\nQEMU: ${board.output()}`,
        { cause: error },
      );
    } finally {
      await console.stop();
      await board.stop();
    }
  });

  test('the other three consoles at once', async () => {
    const { freePorts, startQemuBoard, BOARD_CONSOLES } = await qemuBoard();
    const ports = await freePorts(4);
    const board = await startQemuBoard({ ports });
    const consoles = BOARD_CONSOLES.map((name, index) => newConsole({ name, port: ports[index] }));
    try {
      for (const { console } of consoles) console.start();
      for (const [index, { console }] of consoles.entries()) {
        if (index === 0) continue;
        // A client that connects after the prompt gets a new one only after a carriage return.
        const deadline = Date.now() + bootTimeoutMs;
        for (;;) {
          if (console.state === 'connected') console.sendLine('');
          try {
            await console.waitFor(/login: /, 2000);
            break;
          } catch (error) {
            if (Date.now() > deadline) throw error;
          }
        }
        await logIn(console);
        console.sendLine('tty');
        assert.match(
          await console.waitFor(/\/dev\/tty\w+\r?\n/, 10_000),
          new RegExp(`/dev/${BOARD_CONSOLES[index]}`),
        );
      }
    } finally {
      await Promise.all(consoles.map(({ console }) => console.stop()));
      await board.stop();
    }
  });
});

describe('TelnetConsole on telnet daemons', () => {
  test('inetutils-telnetd: negotiation and TTYPE', async () => {
    const { freePorts, startInetutilsTelnetd } = await telnetServers();
    const [port] = await freePorts(1);
    // inetutils-telnetd sets TERM from the client's TTYPE IS reply.
    const program = await writeProgram(
      'inetutils-program.sh',
      'printf "TERM=%s\\n" "$TERM"\nprintf "name: "\nIFS= read -r name\nprintf "hello %s\\n" "$name"\n',
    );
    const server = await startInetutilsTelnetd({ port, program });
    const { console, log, text } = newConsole({ name: 'inetutils', port });
    try {
      console.start();
      await console.waitFor('name: ', 15_000, { includeRecent: true });
      assert.match(text(), /TERM=xterm-256color/i);
      console.sendLine('realm');
      await console.waitFor('hello realm', 10_000);
      assert.ok(log.lines.some((line) => line.includes('server DO TTYPE; reply WILL TTYPE')));
    } catch (error) {
      throw new Error(
        `${String(error)}\nconsole log:\n${log.lines.join('\n')}\nserver: ${server.output()}`,
        { cause: error },
      );
    } finally {
      await console.stop();
      await server.stop();
    }
  });

  test('inetutils-telnetd: default login stub', async () => {
    const { freePorts, startInetutilsTelnetd, TELNET_BANNER } = await telnetServers();
    const [port] = await freePorts(1);
    const server = await startInetutilsTelnetd({ port });
    const { console } = newConsole({ name: 'inetutils', port });
    try {
      console.start();
      await console.waitFor(TELNET_BANNER, 15_000, { includeRecent: true });
      await console.waitFor('login: ', 10_000, { includeRecent: true });
      console.sendLine('root');
      await console.waitFor('user: root', 10_000);
      console.sendLine('echo this');
      await console.waitFor('echo: echo this', 10_000);
    } finally {
      await console.stop();
      await server.stop();
    }
  });

  test('busybox telnetd: NAWS size and CR NUL input', async () => {
    const { freePorts, startBusyboxTelnetd } = await telnetServers();
    const [port] = await freePorts(1);
    // The size is read after the first line, by when the client's NAWS has arrived.
    const program = await writeProgram(
      'busybox-program.sh',
      'printf "ready: "\nIFS= read -r line\nprintf "line=[%s]\\n" "$line"\nprintf "size=%s\\n" "$(stty size)"\nIFS= read -r line\nprintf "size=%s\\n" "$(stty size)"\n',
    );
    const server = await startBusyboxTelnetd({ port, program });
    const { console, log } = newConsole({ name: 'busybox', port, columns: 100, rows: 30 });
    try {
      console.start();
      await console.waitFor('ready: ', 15_000, { includeRecent: true });
      console.sendLine('first');
      const first = await console.waitFor(/line=\[.*\]\r\nsize=\d+ \d+/, 10_000);
      assert.equal(first, 'line=[first]\r\nsize=30 100');
      console.resize(132, 43);
      console.sendLine('');
      assert.equal(await console.waitFor(/size=\d+ \d+/, 10_000), 'size=43 132');
    } catch (error) {
      throw new Error(
        `${String(error)}\nconsole log:\n${log.lines.join('\n')}\nserver: ${server.output()}`,
        { cause: error },
      );
    } finally {
      await console.stop();
      await server.stop();
    }
  });
});
