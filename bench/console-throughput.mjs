// Figure 4: how fast console output flows from a telnet socket through TelnetConsole (socket,
// telnet parser, UTF-8 decoder, onData listener), with and without its log file, and on into
// the terminal. A bare socket read of the same bytes is the reference. A server process sends a
// ~50 MB boot log built from the console captures in CCA_DATA_DIR/console-logs. Each measurement runs
// in a fresh client process, so that its peak RSS is its own. Modes alternate within each round,
// so machine drift affects them alike. A last run sends 1 GB through the terminal path and
// samples the client's memory every 100 MB.
//
// Environment: CCA_DATA_DIR, BENCH_ROUNDS (default 5), BENCH_MB (payload size, default 50),
// BENCH_LONG_MB (size of the memory run, default 1000; 0 skips it).
import { fork } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import {
  dataDir,
  describeMachine,
  envNumber,
  load,
  memoryKb,
  printTable,
  summarise,
} from './lib.mjs';

const script = import.meta.filename;
const modes = ['raw', 'raw+log', 'console', 'console+log', 'terminal'];
const megabyte = 1e6;

/**
 * Builds the payload: the captures repeated up to `megabytes`, with CR LF line ends as a UART
 * sends them, and a 0xFF byte after every 500th line. Returns the data bytes and the bytes on
 * the wire, where each 0xFF is sent as IAC IAC.
 */
function buildPayload(megabytes) {
  const logDir = path.join(dataDir(), 'console-logs');
  const files = readdirSync(logDir)
    .filter((name) => name.endsWith('.txt'))
    .sort();
  const text = files.map((name) => readFileSync(path.join(logDir, name), 'utf8')).join('\n');
  const lines = text.split('\n').map((line) => Buffer.from(`${line}\r\n`));
  const parts = [];
  let size = 0;
  for (let index = 0; size < megabytes * megabyte; index += 1) {
    const line = lines[index % lines.length];
    parts.push(line);
    size += line.length;
    if (index % 500 === 499) {
      parts.push(Buffer.from([0xff]));
      size += 1;
    }
  }
  const data = Buffer.concat(parts);
  const { escapeIac } = load('core/telnet/encode.js');
  return { data, wire: Buffer.from(escapeIac(data)), files: files.length };
}

/**
 * Runs the server process. On one port it sends the wire bytes to each connection, and on the
 * other it sends them `repeats` times. Then it closes the connection.
 */
async function serve(repeats) {
  const { wire } = buildPayload(envNumber('BENCH_MB', 50));
  const once_ = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(wire);
  });
  const repeated = net.createServer(async (socket) => {
    socket.on('error', () => undefined);
    for (let count = 0; count < repeats && !socket.destroyed; count += 1) {
      if (!socket.write(wire)) await once(socket, 'drain');
    }
    socket.end();
  });
  once_.listen(0, '127.0.0.1');
  repeated.listen(0, '127.0.0.1');
  await Promise.all([once(once_, 'listening'), once(repeated, 'listening')]);
  process.send({ port: once_.address().port, repeatedPort: repeated.address().port });
  process.on('disconnect', () => {
    once_.close();
    repeated.close();
  });
}

/**
 * Reads one transfer with a bare socket, and with `logFile` also writes each chunk to that file
 * as RotatingLog does (synchronously). Returns the bytes received.
 */
function readRaw(port, logFile) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let fd;
    if (logFile) {
      mkdirSync(path.dirname(logFile), { recursive: true });
      fd = openSync(logFile, 'a');
    }
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      if (fd !== undefined) writeSync(fd, chunk);
    });
    socket.on('error', reject);
    socket.on('end', () => {
      if (fd !== undefined) closeSync(fd);
      resolve({ bytes });
    });
  });
}

/**
 * Returns the text listener of the terminal path. extension/vscode/consoles/manager.ts keeps a
 * TextTail scrollback of the last 2,000,000 characters (ManagedConsole), and terminal.ts fires
 * an event to the Pseudoterminal's onDidWrite (ConsoleTerminal). Those modules import `vscode`,
 * so their two steps are repeated here.
 */
function terminalListener() {
  const { TextTail } = load('core/telnet/text-tail.js');
  const scrollback = new TextTail(2_000_000);
  const writeEmitter = new EventEmitter();
  let written = 0;
  writeEmitter.on('write', (text) => {
    written += text.length;
  });
  return {
    listener: (text) => {
      scrollback.append(text);
      writeEmitter.emit('write', text);
    },
    written: () => written,
  };
}

/**
 * Reads one transfer through TelnetConsole. Returns the bytes logged, the characters delivered
 * and the client's memory after every 100 MB of characters. The memory is the RSS, and the live
 * heap after a full garbage collection when the process runs with --expose-gc.
 */
async function readConsole(port, mode, logFile) {
  const { TelnetConsole } = load('core/telnet/console.js');
  const telnet = new TelnetConsole({
    name: 'terminal_0',
    host: '127.0.0.1',
    port,
    reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    ...(logFile ? { logFile, logKeep: mode === 'terminal' ? 3 : 1000 } : {}),
  });
  let chars = 0;
  let nextSample = 100 * megabyte;
  const memory = [];
  const terminal = mode === 'terminal' ? terminalListener() : undefined;
  telnet.onData((text) => {
    chars += text.length;
    terminal?.listener(text);
    if (chars >= nextSample) {
      globalThis.gc?.();
      memory.push({ rssKb: memoryKb(), heapKb: process.memoryUsage().heapUsed / 1024 });
      nextSample += 100 * megabyte;
    }
  });
  const lost = new Promise((resolve) => {
    telnet.onState((state) => {
      if (state === 'lost') resolve();
    });
  });
  telnet.start();
  await lost;
  await telnet.stop();
  if (terminal && terminal.written() !== chars) {
    throw new Error(`terminal got ${terminal.written()} characters of ${chars}`);
  }
  const bytes = logFile && mode !== 'terminal' ? loggedBytes(logFile) : undefined;
  return { bytes, chars, memory };
}

function loggedBytes(logFile) {
  const dir = path.dirname(logFile);
  return readdirSync(dir).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
}

/** Client process: one warm-up transfer unless `long`, then one measured transfer in `mode`. */
async function measure(mode, port, long) {
  const withLog = mode.endsWith('+log') || mode === 'terminal';
  const logDir = withLog ? mkdtempSync(path.join(os.tmpdir(), 'cca-bench-console-')) : '';
  const transfer = async (index) => {
    const logFile = logDir ? path.join(logDir, `run${index}`, 'uart0.log') : undefined;
    if (mode.startsWith('raw')) return readRaw(port, logFile);
    return readConsole(port, mode, logFile);
  };
  try {
    if (!long) await transfer(0);
    const started = performance.now();
    const result = await transfer(1);
    const ms = performance.now() - started;
    process.send({ ...result, ms, peakRssKb: memoryKb('self', 'VmHWM') });
    process.disconnect();
  } finally {
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }
}

function runChild(args, execArgv = []) {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  return { child, message: once(child, 'message').then(([message]) => message) };
}

async function runClient(mode, port, long = false) {
  const client = runChild(
    ['--measure', mode, String(port), long ? 'long' : ''],
    long ? ['--expose-gc'] : [],
  );
  const result = await client.message;
  await once(client.child, 'exit');
  return result;
}

async function main() {
  const rounds = envNumber('BENCH_ROUNDS', 5);
  const payloadMb = envNumber('BENCH_MB', 50);
  const longMb = Number(process.env.BENCH_LONG_MB ?? 1000);
  const repeats = Math.max(1, Math.round(longMb / payloadMb));
  const { data, wire, files } = buildPayload(payloadMb);
  const expectedChars = new TextDecoder().decode(data).length;
  const server = runChild(['--serve', String(repeats)]);
  const { port, repeatedPort } = await server.message;

  console.log(describeMachine());
  console.log(
    `Figure 4: console throughput; payload ${(data.length / megabyte).toFixed(1)} MB of data ` +
      `(${(wire.length / megabyte).toFixed(1)} MB on the wire) from ${files} captures; ` +
      `${rounds} rounds, one warm-up transfer per client process\n`,
  );

  const results = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const mode of modes) {
      const result = await runClient(mode, port);
      if (!mode.startsWith('raw') && result.chars !== expectedChars) {
        throw new Error(`${mode}: ${result.chars} characters delivered, ${expectedChars} expected`);
      }
      if (mode.startsWith('raw') && result.bytes !== wire.length) {
        throw new Error(`${mode}: ${result.bytes} bytes received, ${wire.length} expected`);
      }
      if (mode === 'console+log' && result.bytes !== data.length) {
        throw new Error(`${mode}: ${result.bytes} bytes logged, ${data.length} expected`);
      }
      results[mode].push(result);
    }
  }

  // Ratios are taken per round, between transfers run seconds apart, then their median.
  const ratio = (mode, base) =>
    summarise(results[mode].map((r, round) => results[base][round].ms / r.ms)).median;
  const rows = [['mode', 'MB/s median (min-max)', 'ratio to raw', 'ratio to raw+log', 'peak RSS']];
  for (const mode of modes) {
    const rates = summarise(results[mode].map((r) => wire.length / r.ms / 1e3));
    const peak = Math.max(...results[mode].map((r) => r.peakRssKb)) / 1024;
    rows.push([
      mode,
      `${rates.median.toFixed(0)} (${rates.min.toFixed(0)}-${rates.max.toFixed(0)})`,
      ratio(mode, 'raw').toFixed(2),
      mode === 'raw' ? '' : ratio(mode, 'raw+log').toFixed(2),
      `${peak.toFixed(0)} MiB`,
    ]);
  }
  printTable(rows);
  console.log(
    '\nraw: a bare net.Socket; raw+log: the same plus fs.writeSync of each chunk; console: ' +
      'TelnetConsole with one onData listener; console+log: with its rotating log file; ' +
      "terminal: console+log plus the terminal path's listener (scrollback and event).",
  );
  for (const mode of ['console', 'console+log', 'terminal']) {
    const value = ratio(mode, 'raw');
    console.log(
      `target: ${mode} >= 0.5 of raw: ${value >= 0.5 ? 'met' : 'missed'} (${value.toFixed(2)})`,
    );
  }

  if (longMb > 0) {
    const long = await runClient('terminal', repeatedPort, true);
    if (long.chars !== expectedChars * repeats) {
      throw new Error(`terminal, ${repeats} payloads: ${long.chars} characters delivered`);
    }
    const mb = (wire.length * repeats) / megabyte;
    const mib = (kb) => (kb / 1024).toFixed(1);
    const heap = long.memory.map((entry) => entry.heapKb);
    const rss = long.memory.map((entry) => entry.rssKb);
    // Flat: the live heap at the end is within 4 MiB of the first sample's, and RSS after
    // the first 100 MB grows by less than 32 MiB.
    const heapGrowth = heap.at(-1) - heap[0];
    const rssGrowth = Math.max(...rss) - rss[0];
    console.log(
      `\nterminal path, ${mb.toFixed(0)} MB in one connection: ` +
        `${(mb / (long.ms / 1000)).toFixed(0)} MB/s (with a full garbage collection per 100 MB)\n` +
        `  live heap every 100 MB (MiB): ${heap.map(mib).join(', ')}\n` +
        `  RSS every 100 MB (MiB): ${rss.map(mib).join(', ')}; peak ${mib(long.peakRssKb)}`,
    );
    const flat = heapGrowth < 4 * 1024 && rssGrowth < 32 * 1024;
    console.log(
      `target: memory flat over ${mb.toFixed(0)} MB: ${flat ? 'met' : 'missed'} (heap ` +
        `${mib(heapGrowth)} MiB, RSS up to ${mib(rssGrowth)} MiB above the first sample)`,
    );
  }
  server.child.disconnect();
}

if (process.argv[2] === '--serve') {
  await serve(Number(process.argv[3]));
} else if (process.argv[2] === '--measure') {
  await measure(process.argv[3], Number(process.argv[4]), process.argv[5] === 'long');
} else {
  await main();
}
