import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TelnetConsole, type ConsoleOptions } from '../../../core/telnet/console';
import { TelnetCommand as C, TelnetOption as O } from '../../../core/telnet/protocol';
import {
  StateRecorder,
  collectText,
  delay,
  freePort,
  recordingLogger,
  startServer,
  type ByteReader,
} from './servers';

const fastRetry = { initialDelayMs: 20, maxDelayMs: 80 };

function newConsole(port: ConsoleOptions['port'], options: Partial<ConsoleOptions> = {}) {
  return new TelnetConsole({
    name: 'terminal_0',
    host: '127.0.0.1',
    port,
    reconnect: fastRetry,
    ...options,
  });
}

const qemuGreeting = Buffer.from([
  ...[C.IAC, C.WILL, O.ECHO],
  ...[C.IAC, C.WILL, O.SGA],
  ...[C.IAC, C.WILL, O.BINARY],
  ...[C.IAC, C.DO, O.BINARY],
]);

// The first requests of inetutils-telnetd. It sends nothing more until each one has a reply.
const inetutilsRequests: [number, number][] = [
  [C.WILL, O.AUTHENTICATION],
  [C.WILL, O.ENCRYPT],
  [C.DO, O.TTYPE],
  [C.DO, O.TSPEED],
  [C.DO, O.XDISPLOC],
  [C.DO, O.NEW_ENVIRON],
  [C.DO, O.OLD_ENVIRON],
];

/** Returns whether `bytes` contains IAC <command> <option>. */
function hasNegotiation(bytes: Buffer, command: number, option: number): boolean {
  return bytes.includes(Buffer.from([C.IAC, command, option]));
}

/** Returns whether the client replied to the request with one of the two valid commands. */
function hasReply(bytes: Buffer, [command, option]: [number, number]): boolean {
  const replies = command === C.WILL || command === C.WONT ? [C.DO, C.DONT] : [C.WILL, C.WONT];
  return replies.some((reply) => hasNegotiation(bytes, reply, option));
}

describe('TelnetConsole connection', () => {
  test('replies to QEMU negotiation byte for byte', async () => {
    const server = await startServer((socket) => {
      socket.write(qemuGreeting);
      socket.write('\r\nWelcome to Buildroot\r\nbuildroot login: ');
    });
    const console = newConsole(server.port);
    const states = new StateRecorder(console);
    try {
      console.start();
      assert.equal(console.state, 'connecting');
      await console.waitFor('buildroot login: ', 5000);
      const reader = await server.connection(0);
      const replies = await reader.atLeast(12);
      assert.deepEqual(
        [...replies],
        [
          ...[C.IAC, C.DO, O.ECHO],
          ...[C.IAC, C.DO, O.SGA],
          ...[C.IAC, C.DO, O.BINARY],
          ...[C.IAC, C.WILL, O.BINARY],
        ],
      );
      assert.deepEqual(states.states, ['connecting', 'connected']);
      assert.equal(states.details[1], `connected to 127.0.0.1:${server.port}`);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('inetutils-style server gets every reply first', async () => {
    let ttypeReply: Buffer = Buffer.alloc(0);
    const server = await startServer(async (socket, reader) => {
      socket.write(
        Buffer.from(inetutilsRequests.flatMap(([command, option]) => [C.IAC, command, option])),
      );
      await reader.until((bytes) => inetutilsRequests.every((request) => hasReply(bytes, request)));
      const before = reader.bytes.length;
      socket.write(Buffer.from([C.IAC, C.SB, O.TTYPE, 1, C.IAC, C.SE]));
      const bytes = await reader.until((all) =>
        all.subarray(before).includes(Buffer.from([C.IAC, C.SE])),
      );
      ttypeReply = bytes.subarray(before);
      socket.write('\r\nDebian GNU/Linux 12\r\n\r\nlogin: ');
    });
    const console = newConsole(server.port);
    try {
      console.start();
      assert.equal(await console.waitFor(/login: $/, 5000), 'login: ');
      const replies = (await server.connection(0)).bytes;
      assert.ok(hasNegotiation(replies, C.DONT, O.AUTHENTICATION));
      assert.ok(hasNegotiation(replies, C.DONT, O.ENCRYPT));
      assert.ok(hasNegotiation(replies, C.WILL, O.TTYPE));
      for (const option of [O.TSPEED, O.XDISPLOC, O.NEW_ENVIRON, O.OLD_ENVIRON]) {
        assert.ok(hasNegotiation(replies, C.WONT, option), `WONT ${option}`);
      }
      assert.deepEqual(
        [...ttypeReply],
        [C.IAC, C.SB, O.TTYPE, 0, ...Buffer.from('XTERM-256COLOR'), C.IAC, C.SE],
      );
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('repeated requests get no reply loop', async () => {
    const server = await startServer((socket) => {
      const request = [C.IAC, C.WILL, O.ECHO, C.IAC, C.DO, O.SGA];
      socket.write(Buffer.from([...request, ...request, ...request]));
      socket.write('ready\r\n');
    });
    const console = newConsole(server.port);
    try {
      console.start();
      await console.waitFor('ready', 5000);
      await delay(50);
      const reader = await server.connection(0);
      assert.deepEqual([...reader.bytes], [C.IAC, C.DO, O.ECHO, C.IAC, C.WILL, O.SGA]);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('server closing mid-sequence: lost, then reconnected', async () => {
    const server = await startServer((socket, _reader, index) => {
      if (index === 0) {
        // Data, then a negotiation and a subnegotiation cut short, then the close.
        socket.end(Buffer.from([0x61, 0x62, C.IAC, C.SB, O.TTYPE, 1, C.IAC]));
      } else {
        socket.write('back again\r\n');
      }
    });
    const { log, lines } = recordingLogger();
    const console = newConsole(server.port, { log });
    const states = new StateRecorder(console);
    const output = collectText(console);
    try {
      console.start();
      await states.reach('connected');
      await states.reach('lost');
      await console.waitFor('back again', 5000, { includeRecent: true });
      assert.deepEqual(states.states.slice(0, 5), [
        'connecting',
        'connected',
        'lost',
        'reconnecting',
        'connected',
      ]);
      assert.equal(states.details[2], `connection closed by 127.0.0.1:${server.port}`);
      assert.equal(output.text(), 'abback again\r\n');
      assert.ok(lines.includes(`warn terminal_0: connection closed by 127.0.0.1:${server.port}`));
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('silent server does not hang stop', async () => {
    const server = await startServer(() => undefined);
    const console = newConsole(server.port);
    const states = new StateRecorder(console);
    try {
      console.start();
      await states.reach('connected');
      const reader = await server.connection(0);
      const started = Date.now();
      await console.stop();
      assert.ok(Date.now() - started < 1000, `stop took ${Date.now() - started} ms`);
      assert.equal(console.state, 'stopped');
      await reader.until(() => reader.closed, 2000);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('refused, then reconnects with backoff once the port opens', async () => {
    const port = await freePort();
    const { log, lines } = recordingLogger();
    const console = newConsole(port, { log });
    const states = new StateRecorder(console);
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      console.start();
      await delay(300);
      assert.equal(console.state, 'reconnecting');
      server = await startServer(
        (socket) => socket.write('NOTICE:  Booting Trusted Firmware\r\n'),
        port,
      );
      await console.waitFor('Booting Trusted Firmware', 5000, { includeRecent: true });

      assert.equal(states.states[0], 'connecting');
      assert.equal(states.states.at(-1), 'connected');
      const retries = states.details.filter((detail) => detail.includes('retrying'));
      assert.ok(retries.length >= 3, `only ${retries.length} retries`);
      assert.match(retries[0], /refused \(ECONNREFUSED\); retrying in 20 ms$/);
      assert.match(retries[1], /retrying in 40 ms$/);
      assert.match(retries[2], /retrying in 80 ms$/);
      assert.ok(retries.slice(3).every((detail) => detail.endsWith('retrying in 80 ms')));

      // The first refusal is logged at info level, its repeats at debug level.
      const refusals = lines.filter((line) => line.includes('refused'));
      assert.match(
        refusals[0],
        new RegExp(`^info terminal_0: connection to 127.0.0.1:${port} refused`),
      );
      assert.ok(refusals.slice(1).every((line) => line.startsWith('debug ')));
      assert.ok(
        lines.some((line) =>
          new RegExp(`^info terminal_0: connected to 127.0.0.1:${port} after \\d+ attempts$`).test(
            line,
          ),
        ),
      );
    } finally {
      await console.stop();
      await server?.close();
    }
  });

  test('port function: waits until the port is known', async () => {
    const server = await startServer((socket) => socket.write('UART1 ready\r\n'));
    let known: number | undefined;
    const console = newConsole(() => Promise.resolve(known), { name: 'terminal_1' });
    const states = new StateRecorder(console);
    try {
      console.start();
      await delay(100);
      assert.equal(console.state, 'reconnecting');
      assert.match(states.details[1], /^port of terminal_1 not known yet; retrying in 20 ms$/);
      known = server.port;
      await console.waitFor('UART1 ready', 5000, { includeRecent: true });
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('invalid port is retried, not thrown', async () => {
    const server = await startServer((socket) => socket.write('ok\r\n'));
    let port = 70_000;
    const console = newConsole(() => port);
    const states = new StateRecorder(console);
    try {
      console.start();
      await states.reach('reconnecting');
      assert.match(states.details[1], /^invalid port 70000 for terminal_0: expected 1 to 65535;/);
      port = server.port;
      await console.waitFor('ok', 5000, { includeRecent: true });
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('reconnectNow skips the backoff wait', async () => {
    const server = await startServer((socket) => socket.write('ok\r\n'));
    let known: number | undefined;
    const console = newConsole(() => known, {
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const states = new StateRecorder(console);
    try {
      console.start();
      await states.reach('reconnecting');
      known = server.port;
      console.reconnectNow();
      await states.reach('connected', 2000);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('port function that throws is retried', async () => {
    const server = await startServer((socket) => socket.write('ok\r\n'));
    let calls = 0;
    const { log, lines } = recordingLogger();
    const console = newConsole(
      () => {
        calls += 1;
        if (calls === 1) throw new Error('FVP not started');
        return server.port;
      },
      { log },
    );
    const states = new StateRecorder(console);
    try {
      console.start();
      await states.reach('connected');
      assert.ok(
        lines.some((line) => line.includes('port lookup for terminal_0 failed: FVP not started')),
      );
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('stop while refused cancels the retries', async () => {
    const port = await freePort();
    const console = newConsole(port);
    const states = new StateRecorder(console);
    console.start();
    await states.reach('reconnecting');
    await console.stop();
    const count = states.states.length;
    await delay(200);
    assert.equal(states.states.length, count);
    assert.equal(console.state, 'stopped');
  });

  test('start again after stop', async () => {
    const server = await startServer((socket, _reader, index) =>
      socket.write(`hello ${index}\r\n`),
    );
    const console = newConsole(server.port);
    try {
      console.start();
      await console.waitFor('hello 0', 5000, { includeRecent: true });
      await console.stop();
      console.start();
      await console.waitFor('hello 1', 5000, { includeRecent: true });
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('start while stop is closing', async () => {
    const server = await startServer((socket, _reader, index) =>
      socket.write(`hello ${index}\r\n`),
    );
    const console = newConsole(server.port);
    const states = new StateRecorder(console);
    try {
      console.start();
      await console.waitFor('hello 0', 5000, { includeRecent: true });
      const stopping = console.stop();
      console.start();
      await stopping;
      await console.waitFor('hello 1', 5000, { includeRecent: true });
      assert.equal(console.state, 'connected');
      assert.ok(!states.states.includes('stopped'), states.states.join(', '));
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('logs events but never input', async () => {
    const server = await startServer((socket, reader: ByteReader, index) => {
      if (index > 0) return;
      socket.write('Password: ');
      void reader.atLeast(1).then(() => setTimeout(() => socket.destroy(), 20));
    });
    const { log, lines } = recordingLogger();
    const console = newConsole(server.port, { log });
    const states = new StateRecorder(console);
    try {
      console.start();
      await console.waitFor('Password: ', 5000, { includeRecent: true });
      console.sendLine('hunter2-secret');
      await states.reach('lost');
      await states.reach('connected', 5000, 2);
    } finally {
      await console.stop();
      await server.close();
    }
    const address = `127.0.0.1:${server.port}`;
    assert.ok(lines.includes(`info terminal_0: connecting to ${address}`));
    assert.ok(lines.includes(`info terminal_0: connected to ${address}`));
    assert.ok(
      lines.some(
        (line) =>
          line.startsWith(`warn terminal_0: connection to ${address} lost`) ||
          line === `warn terminal_0: connection closed by ${address}`,
      ),
    );
    assert.ok(lines.includes(`info terminal_0: stopped (${address})`));
    assert.ok(lines.every((line) => !line.includes('hunter2')));
  });
});
