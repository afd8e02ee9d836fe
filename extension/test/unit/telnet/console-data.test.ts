import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  ConsoleTimeoutError,
  TelnetConsole,
  type ConsoleOptions,
} from '../../../core/telnet/console';
import { TelnetCommand as C, TelnetOption as O, escapeIac } from '../../../core/telnet/protocol';
import { StateRecorder, collectText, delay, recordingLogger, startServer } from './servers';

function newConsole(port: number, options: Partial<ConsoleOptions> = {}) {
  return new TelnetConsole({
    name: 'terminal_3',
    host: '127.0.0.1',
    port,
    reconnect: { initialDelayMs: 20, maxDelayMs: 80 },
    ...options,
  });
}

/** Writes each part as its own TCP segment, so the client reads them as separate chunks. */
async function writeApart(socket: import('node:net').Socket, parts: Uint8Array[]) {
  socket.setNoDelay(true);
  for (const part of parts) {
    socket.write(part);
    await delay(15);
  }
}

/** About `size` bytes of boot-log-like UTF-8 text with multi-byte characters and 0xFF bytes. */
function bootLog(size: number): Buffer {
  const lines = [
    'NOTICE:  BL31: Initializing runtime services\r\n',
    'INFO:    RMM init end — ready for realms ✓\r\n',
    'SMC_RMM_REALM_CREATE 0x88300000 > RMI_SUCCESS (µs: 42) 🔒\r\n',
    '[    0.000000] Linux version 6.7.0 (gcc (Debian 12.2.0-14) 12.2.0)\r\n',
  ];
  const parts: Buffer[] = [];
  let length = 0;
  for (let index = 0; length < size; index += 1) {
    const line = Buffer.from(lines[index % lines.length]);
    // A 0xFF byte now and then: invalid UTF-8, and a byte the server must send as IAC IAC.
    const part = index % 97 === 0 ? Buffer.concat([line, Buffer.from([0xff])]) : line;
    parts.push(part);
    length += part.length;
  }
  return Buffer.concat(parts);
}

describe('TelnetConsole data', () => {
  test('UTF-8 character split across chunks stays whole', async () => {
    const text = 'é→🔒';
    const bytes = Buffer.from(text);
    const server = await startServer((socket) =>
      writeApart(
        socket,
        [...bytes].map((byte) => Uint8Array.of(byte)),
      ),
    );
    const console = newConsole(server.port);
    const output = collectText(console);
    try {
      console.start();
      await console.waitFor('🔒', 5000);
      assert.equal(output.text(), text);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('invalid UTF-8 becomes U+FFFD', async () => {
    const server = await startServer((socket) =>
      socket.write(Buffer.from([0x61, 0xc3, 0x28, 0x62, 0xff, 0xff, 0x0a])),
    );
    const console = newConsole(server.port);
    const output = collectText(console);
    try {
      console.start();
      await console.waitFor('\n', 5000);
      // The two 0xFF bytes are IAC IAC on the wire: one 0xFF data byte.
      assert.equal(output.text(), 'a\ufffd(b\ufffd\n');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('incomplete character at a loss becomes U+FFFD', async () => {
    const server = await startServer((socket, _reader, index) => {
      if (index === 0) socket.end(Buffer.from([0x61, 0xe2, 0x86]));
    });
    const console = newConsole(server.port);
    const states = new StateRecorder(console);
    const output = collectText(console);
    try {
      console.start();
      await states.reach('lost');
      await delay(10);
      assert.equal(output.text(), 'a\ufffd');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('CR NUL becomes CR outside BINARY mode', async () => {
    const server = await startServer((socket) =>
      writeApart(socket, [Buffer.from('one\r'), Buffer.from('\0two\r\n\r\0\0three\r\n')]),
    );
    const console = newConsole(server.port);
    const output = collectText(console);
    try {
      console.start();
      await console.waitFor('three\r\n', 5000);
      assert.equal(output.text(), 'one\rtwo\r\n\r\0three\r\n');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('CR NUL stays in BINARY mode', async () => {
    const server = await startServer(async (socket, reader) => {
      socket.write(Buffer.from([C.IAC, C.WILL, O.BINARY]));
      await reader.atLeast(3);
      socket.write('a\r\0b\r\n');
    });
    const console = newConsole(server.port);
    const output = collectText(console);
    try {
      console.start();
      await console.waitFor('b\r\n', 5000);
      assert.equal(output.text(), 'a\r\0b\r\n');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('typed CR is sent as CR NUL outside BINARY mode', async () => {
    const server = await startServer((socket) => socket.write('login: '));
    const console = newConsole(server.port);
    try {
      console.start();
      await console.waitFor('login: ', 5000, { includeRecent: true });
      console.sendLine('root');
      console.write('a\r\nb\r');
      const reader = await server.connection(0);
      const bytes = await reader.atLeast(11);
      assert.deepEqual([...bytes], [...Buffer.from('root\r\0a\r\nb\r\0')]);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('typed text is sent as is in BINARY mode', async () => {
    const server = await startServer((socket) =>
      socket.write(Buffer.from([C.IAC, C.DO, O.BINARY])),
    );
    const console = newConsole(server.port);
    try {
      console.start();
      const reader = await server.connection(0);
      await reader.atLeast(3);
      console.sendLine('uname -m');
      console.write('ÿ€');
      const bytes = await reader.atLeast(3 + 9 + 5);
      assert.deepEqual(
        [...bytes],
        [C.IAC, C.WILL, O.BINARY, ...Buffer.from('uname -m\r'), ...Buffer.from('ÿ€')],
      );
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('input while not connected is dropped and not logged', () => {
    const { log, lines } = recordingLogger();
    const console = newConsole(1, { log });
    console.sendLine('root-password');
    console.write('more');
    assert.deepEqual(lines, ['warn terminal_3: input dropped while stopped']);
  });

  test('NAWS: size after WILL NAWS, then on resize', async () => {
    const server = await startServer((socket) => socket.write(Buffer.from([C.IAC, C.DO, O.NAWS])));
    const console = newConsole(server.port, { columns: 120, rows: 40 });
    try {
      console.resize(132, 43);
      console.start();
      const reader = await server.connection(0);
      await reader.atLeast(12);
      console.resize(200, 60);
      console.resize(200, 60);
      const bytes = await reader.atLeast(21);
      await delay(30);
      assert.deepEqual(
        [...reader.bytes],
        [
          ...[C.IAC, C.WILL, O.NAWS],
          ...[C.IAC, C.SB, O.NAWS, 0, 132, 0, 43, C.IAC, C.SE],
          ...[C.IAC, C.SB, O.NAWS, 0, 200, 0, 60, C.IAC, C.SE],
        ],
      );
      assert.equal(bytes.length, 21);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('resize without NAWS sends nothing', async () => {
    const server = await startServer((socket) => socket.write('x'));
    const console = newConsole(server.port);
    try {
      console.start();
      await console.waitFor('x', 5000, { includeRecent: true });
      console.resize(100, 30);
      await delay(50);
      assert.equal((await server.connection(0)).bytes.length, 0);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('output before the first listener is delivered to it', async () => {
    const server = await startServer((socket) => socket.write('early output\r\n'));
    const console = newConsole(server.port);
    try {
      console.start();
      await console.waitFor('early output', 5000);
      const output = collectText(console);
      assert.equal(output.text(), '');
      await Promise.resolve();
      assert.equal(output.text(), 'early output\r\n');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('a throwing listener does not stop the others', async () => {
    const server = await startServer((socket) => socket.write('data'));
    const { log, lines } = recordingLogger();
    const console = newConsole(server.port, { log });
    console.onData(() => {
      throw new Error('listener bug');
    });
    const output = collectText(console);
    try {
      console.start();
      await console.waitFor('data', 5000, { includeRecent: true });
      assert.equal(output.text(), 'data');
      assert.ok(lines.includes('error terminal_3: a data listener failed: listener bug'));
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('waitFor: match across chunks, RegExp and recent output', async () => {
    const server = await startServer((socket) =>
      writeApart(socket, [Buffer.from('buildroot lo'), Buffer.from('gin: ')]),
    );
    const console = newConsole(server.port);
    try {
      console.start();
      const match = await console.waitFor(/\w+ login: /g, 5000);
      assert.equal(match, 'buildroot login: ');
      assert.equal(await console.waitFor('login', 100, { includeRecent: true }), 'login');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('waitFor: timeout names console and pattern', async () => {
    const server = await startServer((socket) => socket.write('# '));
    const console = newConsole(server.port);
    try {
      console.start();
      await console.waitFor('# ', 5000);
      await assert.rejects(console.waitFor(/login:/, 50), (error: unknown) => {
        assert.ok(error instanceof ConsoleTimeoutError);
        assert.equal(error.consoleName, 'terminal_3');
        assert.match(
          error.message,
          /^terminal_3: timed out after 50 ms waiting for \/login:\/ \(console connected, 127\.0\.0\.1:\d+; last output line: "# "\)$/,
        );
        return true;
      });
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('waitFor: abort and stop reject', async () => {
    const server = await startServer(() => undefined);
    const console = newConsole(server.port);
    try {
      console.start();
      const controller = new AbortController();
      const aborted = console.waitFor('never', 10_000, { signal: controller.signal });
      controller.abort();
      await assert.rejects(aborted, {
        name: 'AbortError',
        message: 'terminal_3: wait for "never" cancelled',
      });
      const stopped = assert.rejects(
        console.waitFor('never', 10_000),
        /terminal_3: console stopped while waiting for "never"/,
      );
      await console.stop();
      await stopped;
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('large volume reaches onData and the log file whole', async () => {
    const data = bootLog(8 * 1024 * 1024);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cca-console-log-'));
    const logFile = path.join(dir, 'terminal_3.log');
    const server = await startServer(async (socket) => {
      socket.write(Buffer.from([C.IAC, C.WILL, O.SGA, C.IAC, C.DO, O.NAWS]));
      const wire = Buffer.from(escapeIac(data));
      // Uneven slices so that chunk boundaries fall inside characters and IAC pairs.
      for (let offset = 0, size = 1; offset < wire.length; size = ((size * 7919) % 65_521) + 1) {
        const slice = wire.subarray(offset, offset + size);
        offset += slice.length;
        if (!socket.write(slice)) await new Promise((resolve) => socket.once('drain', resolve));
      }
      socket.end();
    });
    const console = newConsole(server.port, { logFile, logMaxBytes: 64 * 1024 * 1024 });
    const states = new StateRecorder(console);
    const chunks: string[] = [];
    console.onData((text) => chunks.push(text));
    try {
      console.start();
      await states.reach('lost', 30_000);
      await console.stop();
      assert.deepEqual(readFileSync(logFile), data);
      const text = chunks.join('');
      assert.equal(text.length, new TextDecoder().decode(data).length);
      assert.ok(text === new TextDecoder().decode(data), 'text differs from the decoded data');
    } finally {
      await console.stop();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
