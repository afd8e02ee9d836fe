// Tests of the test peers in scripts/test-peers/ (built by its setup.mjs): the QEMU board's four
// telnet consoles, its root login and 9p share, and the two telnet servers. Each test talks to
// the peer over a plain socket with a minimal telnet option negotiator, so that a failure here
// points at the peer rather than at the extension's telnet client.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QemuBoard } from '../../../scripts/test-peers/qemu-board.mjs' with {
  'resolution-mode': 'import',
};
import type { TelnetServer } from '../../../scripts/test-peers/telnet-servers.mjs' with {
  'resolution-mode': 'import',
};

const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;

/** The board boots in about 2 s under TCG on 2 cores. The limit leaves room for a busy machine. */
const BOOT_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 15_000;
/** How long the client stays silent to check that inetutils-telnetd sends no text meanwhile. */
const SILENCE_MS = 1500;

/** The cursor position query (ESC [ 6 n) that busybox ash sends after each prompt, as a regex. */
const CURSOR_QUERY_PATTERN = '\x1b\\[6n';
/** A shell prompt of the board's root, at the end of the text received. */
const ROOT_PROMPT = new RegExp(`# (${CURSOR_QUERY_PATTERN})?$`);

/**
 * A telnet connection with a minimal option negotiator: while `replying`, it rejects every
 * option (DONT for WILL, WONT for DO). Text other than telnet commands collects in `text`.
 */
class TelnetPeer {
  text = '';
  /** Option requests received (WILL, WONT, DO, DONT), whether replied to or not. */
  readonly requests: { command: number; option: number }[] = [];
  private consumed = 0;
  private pendingRequests: { command: number; option: number }[] = [];
  private state: 'data' | 'iac' | 'option' | 'sb' | 'sb-iac' = 'data';
  private command = 0;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: net.Socket,
    private replying: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.notify());
  }

  static async connect(port: number, { reply }: { reply: boolean }): Promise<TelnetPeer> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TelnetPeer(socket, reply);
  }

  /** Replies to the option requests received so far, and from now on to every new one. */
  startReplying(): void {
    this.replying = true;
    for (const request of this.pendingRequests) this.reply(request);
    this.pendingRequests = [];
  }

  send(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  /**
   * Resolves with the text up to the first match of `pattern` after the previous match, or
   * rejects after `timeoutMs` with the text received so far.
   */
  async waitFor(pattern: RegExp, timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.consumed);
      const match = pattern.exec(rest);
      if (match) {
        this.consumed += match.index + match[0].length;
        return rest.slice(0, match.index + match[0].length);
      }
      if (this.socket.closed) throw new Error(`connection closed before ${pattern}: ${rest}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        const received = JSON.stringify(rest);
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${pattern}. Received: ${received}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private reply({ command, option }: { command: number; option: number }): void {
    if (command === WILL) this.socket.write(Buffer.from([IAC, DONT, option]));
    if (command === DO) this.socket.write(Buffer.from([IAC, WONT, option]));
  }

  private receive(chunk: Buffer): void {
    for (const byte of chunk) {
      switch (this.state) {
        case 'data':
          if (byte === IAC) this.state = 'iac';
          else this.text += String.fromCharCode(byte);
          break;
        case 'iac':
          if (byte === IAC) {
            this.text += '\xff';
            this.state = 'data';
          } else if (byte >= WILL && byte <= DONT) {
            this.command = byte;
            this.state = 'option';
          } else {
            this.state = byte === SB ? 'sb' : 'data';
          }
          break;
        case 'option': {
          const request = { command: this.command, option: byte };
          this.requests.push(request);
          if (this.replying) this.reply(request);
          else this.pendingRequests.push(request);
          this.state = 'data';
          break;
        }
        case 'sb':
          if (byte === IAC) this.state = 'sb-iac';
          break;
        case 'sb-iac':
          this.state = byte === SE ? 'data' : 'sb';
          break;
      }
    }
    this.notify();
  }
}

/** Temporary folders whose paths are in the command line of every process these tests start. */
const markers: string[] = [];

async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  markers.push(dir);
  return dir;
}

/** Logs in as root on a board console, or only gets a prompt when a shell is running there. */
async function loginAsRoot(port: number): Promise<TelnetPeer> {
  const peer = await TelnetPeer.connect(port, { reply: true });
  // A late client gets nothing until it sends a carriage return.
  peer.send('\r');
  const first = await peer.waitFor(new RegExp(`login: $|${ROOT_PROMPT.source}`), BOOT_TIMEOUT_MS);
  if (first.endsWith('login: ')) {
    peer.send('root\r');
    await peer.waitFor(/Password: $/);
    peer.send('root\r');
    await peer.waitFor(ROOT_PROMPT);
  }
  return peer;
}

/** Runs a shell command on a logged-in console and returns its output lines. */
async function runInGuest(peer: TelnetPeer, command: string): Promise<string[]> {
  peer.send(`${command}\r`);
  const output = await peer.waitFor(ROOT_PROMPT);
  // The first line is the echoed command; the last is the next prompt.
  return output.split('\r\n').slice(1, -1);
}

describe('QEMU board', () => {
  let board: QemuBoard | undefined;
  let shareDir: string;
  let startedAt: number;

  before(async () => {
    const { freePorts, startQemuBoard } =
      await import('../../../scripts/test-peers/qemu-board.mjs');
    shareDir = await makeTempDir('cca-peers-share-');
    const ports = await freePorts(4);
    startedAt = performance.now();
    board = await startQemuBoard({ ports, shareDir });
  });

  after(async () => {
    await board?.stop();
    // Files the guest wrote are root-owned on the host, which this test also runs as.
    if (shareDir) await rm(shareDir, { recursive: true, force: true });
  });

  test('every console prints login:', async (t) => {
    assert.ok(board);
    const peers = await Promise.all(
      board.ports.map((port) => TelnetPeer.connect(port, { reply: false })),
    );
    try {
      for (const peer of peers) peer.send('\r');
      const seen = await Promise.all(
        peers.map(async (peer) => {
          await peer.waitFor(/login: /, BOOT_TIMEOUT_MS);
          return performance.now();
        }),
      );
      const bootMs = Math.round(seen[0] - startedAt);
      t.diagnostic(`boot to login: on ttyAMA0: ${bootMs} ms after starting QEMU`);
      for (const [index, peer] of peers.entries()) {
        assert.match(peer.text, /buildroot login: /, `console ${index}`);
      }
    } finally {
      for (const peer of peers) peer.close();
    }
  });

  test('root logs in on ttyAMA0', async () => {
    assert.ok(board);
    const peer = await loginAsRoot(board.ports[0]);
    try {
      assert.deepEqual(await runInGuest(peer, 'uname -m'), ['aarch64']);
      assert.deepEqual(await runInGuest(peer, 'tty'), ['/dev/ttyAMA0']);
    } finally {
      peer.close();
    }
  });

  test('9p share works both ways', async () => {
    assert.ok(board);
    const content = `written by the host at ${Date.now()}`;
    await writeFile(path.join(shareDir, 'from-host.txt'), `${content}\n`);
    const peer = await loginAsRoot(board.ports[0]);
    try {
      assert.deepEqual(await runInGuest(peer, 'cat /mnt/shared/from-host.txt'), [content]);
      await runInGuest(peer, 'echo written by the guest > /mnt/shared/from-guest.txt');
      const fromGuest = await readFile(path.join(shareDir, 'from-guest.txt'), 'utf8');
      assert.equal(fromGuest, 'written by the guest\n');
    } finally {
      peer.close();
    }
  });

  test('restart boots again on the same ports', async () => {
    assert.ok(board);
    const firstPid = board.pid;
    await board.restart();
    assert.notEqual(board.pid, firstPid);
    const peer = await TelnetPeer.connect(board.ports[1], { reply: false });
    try {
      peer.send('\r');
      await peer.waitFor(/buildroot login: /, BOOT_TIMEOUT_MS);
    } finally {
      peer.close();
    }
  });
});

/**
 * Copies the default program into a new temporary folder, whose path then marks the processes
 * that run it, and returns the folder and the copy.
 */
async function markedLoginStub(): Promise<{ dir: string; program: string }> {
  const { LOGIN_STUB } = await import('../../../scripts/test-peers/telnet-servers.mjs');
  const dir = await makeTempDir('cca-peers-telnet-');
  const program = path.join(dir, 'login-stub.sh');
  await copyFile(LOGIN_STUB, program);
  return { dir, program };
}

describe('inetutils-telnetd', () => {
  let server: TelnetServer | undefined;
  let programDir: string | undefined;

  before(async () => {
    const { freePorts, startInetutilsTelnetd } =
      await import('../../../scripts/test-peers/telnet-servers.mjs');
    const [port] = await freePorts(1);
    const { dir, program } = await markedLoginStub();
    programDir = dir;
    server = await startInetutilsTelnetd({ port, program });
  });

  after(async () => {
    await server?.stop();
    if (programDir) await rm(programDir, { recursive: true, force: true });
  });

  test('banner waits for option replies', async () => {
    assert.ok(server);
    const { TELNET_BANNER } = await import('../../../scripts/test-peers/telnet-servers.mjs');
    const peer = await TelnetPeer.connect(server.port, { reply: false });
    try {
      await new Promise((resolve) => setTimeout(resolve, SILENCE_MS));
      assert.ok(peer.requests.length > 0, 'telnetd sent no option requests');
      assert.equal(peer.text, '', 'telnetd sent text before the client replied to its options');

      peer.startReplying();
      await peer.waitFor(new RegExp(`${TELNET_BANNER}\r\nlogin: `));
      peer.send('alice\r\n');
      await peer.waitFor(/user: alice\r\n\$ /);
    } finally {
      peer.close();
    }
  });
});

describe('busybox telnetd', () => {
  let server: TelnetServer | undefined;
  let programDir: string | undefined;

  before(async () => {
    const { freePorts, startBusyboxTelnetd } =
      await import('../../../scripts/test-peers/telnet-servers.mjs');
    const [port] = await freePorts(1);
    const { dir, program } = await markedLoginStub();
    programDir = dir;
    server = await startBusyboxTelnetd({ port, program });
  });

  after(async () => {
    await server?.stop();
    if (programDir) await rm(programDir, { recursive: true, force: true });
  });

  test('banner arrives without option replies', async () => {
    assert.ok(server);
    const { TELNET_BANNER } = await import('../../../scripts/test-peers/telnet-servers.mjs');
    const peer = await TelnetPeer.connect(server.port, { reply: false });
    try {
      await peer.waitFor(new RegExp(`${TELNET_BANNER}\r\nlogin: `));
      assert.ok(peer.requests.length > 0, 'busybox telnetd sent no option requests');
      peer.send('bob\r\n');
      await peer.waitFor(/user: bob\r\n\$ /);
      peer.send('hello\r\n');
      await peer.waitFor(/echo: hello\r\n\$ /);
    } finally {
      peer.close();
    }
  });
});

test('no peer process left running', () => {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  assert.equal(ps.status, 0, ps.stderr);
  const left = ps.stdout
    .split('\n')
    .filter((line) => markers.some((marker) => line.includes(marker)));
  assert.deepEqual(left, []);
});
