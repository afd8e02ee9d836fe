// Measures how fast console output flows through TelnetConsole (socket, telnet parser, UTF-8
// decoder, onData listener), with and without its log file, next to a bare socket read of the
// same bytes. A server process sends a ~50 MB boot log built from the console captures in
// CCA_DATA_DIR/console-logs. Each measurement runs in a fresh client process, so that its peak
// RSS is its own. Modes alternate within each round, so machine drift affects them alike.
//
// Run: `npx tsc -p tsconfig.json && node bench/console-throughput.mjs` (it loads out/).
// Environment: CCA_DATA_DIR, BENCH_ROUNDS (default 5), BENCH_MB (payload size, default 50).
import { fork } from 'node:child_process';
import { once } from 'node:events';
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
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { TextDecoder } from 'node:util';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const script = import.meta.filename;
const modes = ['raw', 'raw+log', 'console', 'console+log'];

/**
 * Builds the payload: the captures repeated up to `megabytes`, with CR LF line ends as a UART
 * sends them, and a 0xFF byte after every 500th line. Returns the data bytes and the bytes on
 * the wire, where each 0xFF is sent as IAC IAC.
 */
function buildPayload(megabytes) {
  const dataDir = path.resolve(process.env.CCA_DATA_DIR ?? path.join(root, '..', 'shared', 'data'));
  const logDir = path.join(dataDir, 'console-logs');
  const files = readdirSync(logDir)
    .filter((name) => name.endsWith('.txt'))
    .sort();
  const text = files.map((name) => readFileSync(path.join(logDir, name), 'utf8')).join('\n');
  const lines = text.split('\n').map((line) => Buffer.from(`${line}\r\n`));
  const parts = [];
  let size = 0;
  for (let index = 0; size < megabytes * 1e6; index += 1) {
    const line = lines[index % lines.length];
    parts.push(line);
    size += line.length;
    if (index % 500 === 499) {
      parts.push(Buffer.from([0xff]));
      size += 1;
    }
  }
  const data = Buffer.concat(parts);
  const { escapeIac } = require(path.join(root, 'out/core/telnet/protocol.js'));
  return { data, wire: Buffer.from(escapeIac(data)), files: files.length };
}

/** Server process: sends the wire bytes to each connection, then closes it. */
async function serve() {
  const { wire } = buildPayload(Number(process.env.BENCH_MB ?? 50));
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(wire);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.send({ port: server.address().port });
  process.on('disconnect', () => server.close());
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

/** Reads one transfer through TelnetConsole; returns bytes logged and characters delivered. */
async function readConsole(port, logFile) {
  const { TelnetConsole } = require(path.join(root, 'out/core/telnet/console.js'));
  const telnet = new TelnetConsole({
    name: 'terminal_0',
    host: '127.0.0.1',
    port,
    reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    ...(logFile ? { logFile, logKeep: 100 } : {}),
  });
  let chars = 0;
  telnet.onData((text) => {
    chars += text.length;
  });
  const lost = new Promise((resolve) => {
    telnet.onState((state) => {
      if (state === 'lost') resolve();
    });
  });
  telnet.start();
  await lost;
  await telnet.stop();
  return { bytes: logFile ? loggedBytes(logFile) : undefined, chars };
}

function loggedBytes(logFile) {
  const dir = path.dirname(logFile);
  return readdirSync(dir).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
}

/** Client process: one warm-up transfer, then one measured transfer in `mode`. */
async function measure(mode, port) {
  const logDir = mode.endsWith('+log') ? mkdtempSync(path.join(os.tmpdir(), 'cca-bench-')) : '';
  const transfer = async (index) => {
    const logFile = logDir ? path.join(logDir, `run${index}`, 'uart0.log') : undefined;
    if (mode.startsWith('raw')) return readRaw(port, logFile);
    return readConsole(port, logFile);
  };
  try {
    await transfer(0);
    const started = performance.now();
    const result = await transfer(1);
    const ms = performance.now() - started;
    process.send({ ...result, ms, maxRssKb: peakRssKb() });
    process.disconnect();
  } finally {
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }
}

/**
 * Returns this process's peak resident set size in KiB. On Linux it reads VmHWM, because
 * getrusage's maxRSS keeps the parent's peak across fork and exec.
 */
function peakRssKb() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS;
}

function runChild(args) {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return { child, message: once(child, 'message').then(([message]) => message) };
}

function summarise(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) };
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const { data, wire, files } = buildPayload(Number(process.env.BENCH_MB ?? 50));
  const expectedChars = new TextDecoder().decode(data).length;
  const server = runChild(['--serve']);
  const { port } = await server.message;

  const results = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const mode of modes) {
      const client = runChild(['--measure', mode, String(port)]);
      const result = await client.message;
      await once(client.child, 'exit');
      if (mode.startsWith('console') && result.chars !== expectedChars) {
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
  server.child.disconnect();

  const cpus = os.cpus();
  console.log(
    `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`,
  );
  console.log(
    `payload: ${(data.length / 1e6).toFixed(1)} MB of data (${(wire.length / 1e6).toFixed(1)} MB ` +
      `on the wire) from ${files} captures; ${rounds} rounds, one warm-up transfer per client\n`,
  );
  // Ratios are taken per round, between transfers run seconds apart, then their median.
  const ratio = (mode, base) =>
    summarise(results[mode].map((r, round) => results[base][round].ms / r.ms)).median;
  for (const mode of modes) {
    const rates = summarise(results[mode].map((r) => wire.length / r.ms / 1e3));
    const rss = Math.max(...results[mode].map((r) => r.maxRssKb)) / 1024;
    const ofRawLog =
      mode === 'console+log' ? `, ${ratio(mode, 'raw+log').toFixed(2)} of raw+log` : '';
    console.log(
      `${mode.padEnd(12)} median ${rates.median.toFixed(0).padStart(5)} MB/s ` +
        `(min ${rates.min.toFixed(0)}, max ${rates.max.toFixed(0)}), ` +
        `${ratio(mode, 'raw').toFixed(2)} of raw${ofRawLog}, peak RSS ${rss.toFixed(0)} MiB`,
    );
  }
}

if (process.argv[2] === '--serve') {
  await serve();
} else if (process.argv[2] === '--measure') {
  await measure(process.argv[3], Number(process.argv[4]));
} else {
  await main();
}
