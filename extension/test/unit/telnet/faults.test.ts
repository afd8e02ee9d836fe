// Faulty telnet servers on 127.0.0.1: garbage, an endless subnegotiation, a half-open
// connection, a port that accepts and never speaks, a reset, and a flood with no reader. The
// console must not hang, crash or grow its memory without bound; it reports its state and
// reconnects.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import {
  ConsoleTimeoutError,
  TelnetConsole,
  bufferedOutputChars,
  type ConsoleOptions,
} from '../../../core/telnet/console';
import { TelnetCommand as C, TelnetOption as O } from '../../../core/telnet/protocol';
import {
  ByteReader,
  StateRecorder,
  collectText,
  delay,
  recordingLogger,
  startServer,
} from './servers';

const fastRetry = { initialDelayMs: 20, maxDelayMs: 80 };

function newConsole(port: number, options: Partial<ConsoleOptions> = {}): TelnetConsole {
  return new TelnetConsole({
    name: 'terminal_0',
    host: '127.0.0.1',
    port,
    reconnect: fastRetry,
    ...options,
  });
}

/** Deterministic bytes with IAC, SB, SE and the negotiation commands often among them. */
function garbage(length: number, seed: number): Buffer {
  const special = [C.IAC, C.IAC, C.SB, C.SE, C.WILL, C.WONT, C.DO, C.DONT, O.TTYPE, O.NAWS];
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = state % 4 === 0 ? special[(state >> 8) % special.length] : (state >> 16) & 0xff;
  }
  return bytes;
}

/** Writes `total` bytes in chunks, waiting whenever the socket's buffer is full. */
async function writeFlood(socket: net.Socket, total: number, fill: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, fill);
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (socket.destroyed) return;
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
}

function heapMb(): number {
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

describe('TelnetConsole against faulty servers', () => {
  test('garbage from the server', async () => {
    const noise = garbage(2 * 1024 * 1024, 7);
    const server = await startServer((socket, _reader, index) => {
      if (index === 0) {
        socket.write(noise);
        socket.end();
      } else {
        socket.write('\r\nbuildroot login: ');
      }
    });
    const { log, lines } = recordingLogger();
    const console = newConsole(server.port, { log });
    const states = new StateRecorder(console);
    try {
      console.start();
      await console.waitFor('buildroot login: ', 10_000);
      assert.deepEqual(states.states.slice(0, 5), [
        'connecting',
        'connected',
        'lost',
        'reconnecting',
        'connected',
      ]);
      const replies = (await server.connection(0)).bytes;
      // At most one three-byte reply per IAC the server sent.
      const iacCount = noise.filter((byte) => byte === C.IAC).length;
      assert.ok(replies.length <= 3 * iacCount, `${replies.length} reply bytes`);
      assert.deepEqual(
        lines.filter((line) => line.startsWith('error')),
        [],
      );
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('endless subnegotiation', async () => {
    const floodBytes = 48 * 1024 * 1024;
    let heapPeak = 0;
    const server = await startServer(async (socket) => {
      socket.write(Buffer.from([C.IAC, C.DO, O.TTYPE]));
      socket.write(Buffer.from([C.IAC, C.SB, O.TTYPE, 1]));
      await writeFlood(socket, floodBytes, 0x41);
      heapPeak = heapMb();
      socket.write(Buffer.from([C.IAC, C.SE]));
      socket.write('after the subnegotiation\r\n');
    });
    const console = newConsole(server.port);
    const output = collectText(console);
    const heapBefore = heapMb();
    try {
      console.start();
      await console.waitFor('after the subnegotiation\r\n', 30_000);
      assert.equal(output.text(), 'after the subnegotiation\r\n', 'no subnegotiation byte shown');
      // Kept as bytes, 48 MiB would need hundreds of MiB of heap.
      assert.ok(
        heapPeak - heapBefore < 100,
        `heap grew by ${Math.round(heapPeak - heapBefore)} MiB`,
      );
      // The oversized TTYPE request got no reply, so WILL TTYPE, the reply to DO, is all.
      const replies = (await server.connection(0)).bytes;
      assert.deepEqual([...replies], [C.IAC, C.WILL, O.TTYPE]);
      assert.equal(console.state, 'connected');
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('half-open connection', async () => {
    const clientClosed: boolean[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      const index = clientClosed.length;
      clientClosed.push(false);
      socket.on('end', () => (clientClosed[index] = true));
      socket.on('error', () => undefined);
      if (index === 0) {
        // The server closes its side and keeps the socket, as a crashed peer's kernel would not.
        socket.end('first\r\n');
      } else {
        socket.write('second\r\n');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;

    const console = newConsole(port);
    const states = new StateRecorder(console);
    const output = collectText(console);
    try {
      console.start();
      await console.waitFor('second\r\n', 5000, { includeRecent: true });
      assert.equal(output.text(), 'first\r\nsecond\r\n');
      assert.deepEqual(states.states.slice(0, 5), [
        'connecting',
        'connected',
        'lost',
        'reconnecting',
        'connected',
      ]);
      assert.equal(states.details[2], `connection closed by 127.0.0.1:${port}`);
      // The client closed its side too, so no half-open socket is left behind.
      assert.equal(clientClosed[0], true);
    } finally {
      await console.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('port that accepts and never speaks', async () => {
    const server = await startServer(() => undefined);
    const console = newConsole(server.port);
    const states = new StateRecorder(console);
    try {
      console.start();
      await states.reach('connected');
      const error = await console.waitFor(/login: $/, 300).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConsoleTimeoutError, String(error));
      assert.equal(
        error.message,
        'terminal_0: timed out after 300 ms waiting for /login: $/ (console connected, ' +
          `127.0.0.1:${server.port}; last output line: "")`,
      );
      assert.equal(console.state, 'connected');
      // Typing into a silent console neither throws nor blocks.
      console.sendLine('root');
      const reader: ByteReader = await server.connection(0);
      await reader.until((bytes) => bytes.includes(Buffer.from('root\r')));

      const started = Date.now();
      await console.stop();
      assert.ok(Date.now() - started < 1000, `stop took ${Date.now() - started} ms`);
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('reset right after accept', async () => {
    const server = await startServer((socket, _reader, index) => {
      if (index < 2) socket.resetAndDestroy();
      else socket.write('login: ');
    });
    const { log, lines } = recordingLogger();
    const console = newConsole(server.port, { log });
    const states = new StateRecorder(console);
    try {
      console.start();
      await console.waitFor('login: ', 5000, { includeRecent: true });
      // A reset may come before or after the client saw the connection open. So it shows as a
      // lost connection or as a failed attempt, and either way the console retried twice.
      assert.ok(states.states.filter((state) => state === 'reconnecting').length >= 2);
      assert.equal(states.states.at(-1), 'connected');
      assert.ok(
        lines.some((line) => /ECONNRESET|connection closed by/.test(line)),
        lines.join('\n'),
      );
    } finally {
      await console.stop();
      await server.close();
    }
  });

  test('output flood with no reader', async () => {
    const floodBytes = 32 * 1024 * 1024;
    let flooded = false;
    const server = await startServer(async (socket) => {
      await writeFlood(socket, floodBytes, 0x61);
      socket.write('\r\nend of flood\r\n');
      flooded = true;
    });
    const { log, lines } = recordingLogger();
    const console = newConsole(server.port, { log });
    const heapBefore = heapMb();
    try {
      console.start();
      await console.waitFor('end of flood', 30_000);
      while (!flooded) await delay(10);
      assert.ok(
        heapMb() - heapBefore < 100,
        `heap grew by ${Math.round(heapMb() - heapBefore)} MiB`,
      );
      const warnings = lines.filter((line) => line.includes('its oldest output is dropped'));
      assert.equal(warnings.length, 1, lines.join('\n'));

      // The first listener gets the newest text, no more than the buffer holds.
      const output = collectText(console);
      await delay(20);
      assert.ok(output.text().length <= bufferedOutputChars);
      assert.ok(output.text().endsWith('\r\nend of flood\r\n'));
    } finally {
      await console.stop();
      await server.close();
    }
  });
});
