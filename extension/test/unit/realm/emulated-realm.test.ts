import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { appendFile, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import {
  ArgumentError,
  parseRealmArguments,
  type RealmArguments,
} from '../../../cli/emulated-realm';
import { realmLines } from '../../../core/protocol/output';
import { dataDir, type ExpectedTop5 } from '../data';

const script = path.resolve(__dirname, '..', '..', '..', 'cli', 'emulated-realm.js');
const modelName = 'mobilenet_v1_0.25_128_quant.tflite';
// A guard against a hung realm, not a speed requirement: every wait ends on a condition.
const hangTimeoutMs = 60_000;

interface RealmProcess {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<ChildProcess>();
let shared: string;

function signallingFile(): string {
  return path.join(shared, 'signalling.txt');
}

function outputFile(): string {
  return path.join(shared, 'output.txt');
}

/** Starts the emulated realm with stdout and stderr in output.txt, as `> output.txt 2>&1`. */
function startRealm(extraArgs: string[]): RealmProcess {
  const data = dataDir();
  const args = [
    script,
    '-l',
    path.join(data, 'labels', 'labels.txt'),
    '-m',
    path.join(data, 'models', modelName),
    '-S',
    signallingFile(),
    ...extraArgs,
  ];
  const fd = openSync(outputFile(), 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  started.add(child);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      started.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exit };
}

/** Runs the script to completion with pipes, for help and argument errors. */
async function runScript(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  started.delete(child);
  return { code, stdout, stderr };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + hangTimeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const output = await readFile(outputFile(), 'utf8').catch(() => '(no output.txt)');
      assert.fail(`Timed out waiting for ${what}. output.txt:\n${output}`);
    }
    await delay(20);
  }
}

async function outputLines(): Promise<string[]> {
  return (await readFile(outputFile(), 'utf8')).split('\n');
}

function count(lines: string[], line: string): number {
  return lines.filter((l) => l === line).length;
}

/** Waits until the realm writes its single `processed` line (the normal world's has two). */
function waitForProcessed(): Promise<true> {
  return waitFor('systemState: processed from the realm', async () => {
    const text = await readFile(signallingFile(), 'utf8').catch(() => '');
    return text === 'systemState: processed\n' ? true : undefined;
  });
}

/** Writes the query in two writes, as NW_signalling.sh does: state first, file name later. */
async function sendTwoWrites(imagePath: string): Promise<void> {
  await writeFile(signallingFile(), 'systemState: query\n');
  await appendFile(signallingFile(), `fileName: ${imagePath}\n`);
}

/** Copies a sample image into the shared folder, as the normal-world script does. */
async function shareImage(name: string, as = name): Promise<string> {
  const target = path.join(shared, as);
  await copyFile(path.join(dataDir(), 'images', name), target);
  return target;
}

async function expectedTop5(image: string) {
  const text = await readFile(path.join(dataDir(), 'expected', 'top5.json'), 'utf8');
  const want = (JSON.parse(text) as ExpectedTop5)[modelName]?.[image];
  assert.ok(want, `expected/top5.json has ${modelName} / ${image}`);
  return want;
}

/** Checks the lines printed for one image: query, name, optional XNNPACK, then the top-5. */
async function assertImageOutput(imagePath: string, image: string, xnnpack: boolean) {
  const lines = await outputLines();
  const nameAt = lines.indexOf(realmLines.inputName(imagePath));
  assert.ok(nameAt > 0, `output.txt has the name line for ${imagePath}`);
  assert.equal(lines[nameAt - 1], realmLines.stateIsQuery(imagePath));

  let at = nameAt + 1;
  if (xnnpack) assert.equal(lines[at++], realmLines.appliedXnnpack());
  const want = await expectedTop5(image);
  for (const [rank, wanted] of want.entries()) {
    const match = /^INFO: ([-+.e\d]+): (\d+) (.*)$/.exec(lines[at + rank] ?? '');
    assert.ok(match, `rank ${rank} result line: ${lines[at + rank]}`);
    assert.equal(Number(match[2]), wanted.index, `rank ${rank} index`);
    assert.equal(match[3], wanted.label, `rank ${rank} label`);
    const difference = Math.abs(Number(match[1]) - wanted.confidence);
    assert.ok(difference <= 1e-3, `rank ${rank} confidence ${match[1]} vs ${wanted.confidence}`);
  }
  // After the results comes the next iteration, or the end of the file after the last image.
  const next = at + want.length;
  const endOfFile = lines[next] === '' && next === lines.length - 1;
  assert.ok(lines[next] === realmLines.checkState() || endOfFile, `after results: ${lines[next]}`);
}

beforeEach(async () => {
  shared = await mkdtemp(path.join(os.tmpdir(), 'cca-emulated-realm-test-'));
  // The initial state as the normal-world script writes it: processed, empty file name.
  await writeFile(signallingFile(), 'systemState: processed\nfileName: \n');
});

afterEach(async () => {
  for (const child of started) child.kill('SIGKILL');
  await rm(shared, { recursive: true, force: true });
});

after(() => {
  for (const child of started) child.kill('SIGKILL');
});

describe('emulated realm process', () => {
  test('answers two-write queries, exits after -N', async () => {
    const realm = startRealm(['-N', '2', '-x', '1']);
    const first = await shareImage('image.bmp');
    await waitFor('the first state check', async () =>
      (await outputLines()).includes(realmLines.checkState()) ? true : undefined,
    );

    // State line alone first. Two more waiting lines after it prove that the realm read the
    // file at least once after this write and kept waiting instead of processing it.
    await writeFile(signallingFile(), 'systemState: query\n');
    const before = count(await outputLines(), realmLines.waitingForQuery());
    await waitFor('two reads of the incomplete query', async () =>
      count(await outputLines(), realmLines.waitingForQuery()) >= before + 2 ? true : undefined,
    );
    assert.equal(await readFile(signallingFile(), 'utf8'), 'systemState: query\n');
    assert.ok(!(await outputLines()).some((l) => l.startsWith("System state is 'query'")));

    await appendFile(signallingFile(), `fileName: ${first}\n`);
    await waitForProcessed();
    await assertImageOutput(first, 'image.bmp', true);

    const second = await shareImage('image1.bmp');
    await sendTwoWrites(second);
    await waitForProcessed();
    assert.deepEqual(await realm.exit, { code: 0, signal: null });
    const lines = await outputLines();
    const loadedAt = lines.indexOf(
      realmLines.loadedModel(path.join(dataDir(), 'models', modelName)),
    );
    assert.ok(loadedAt >= 0, 'loaded model line');
    assert.equal(lines[loadedAt + 1], realmLines.threads(1));
    assert.ok(lines.includes(realmLines.inputName(second)), 'second image name line');
  });

  test('--timings writes per-image step times', async () => {
    const timings = path.join(shared, 'timings.jsonl');
    const realm = startRealm(['-N', '2', '--timings', timings]);
    for (const name of ['image3.bmp', 'image4.bmp']) {
      await sendTwoWrites(await shareImage(name));
      await waitForProcessed();
    }
    assert.deepEqual(await realm.exit, { code: 0, signal: null });
    const lines = (await readFile(timings, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    for (const [index, line] of lines.entries()) {
      const timing = JSON.parse(line) as Record<string, unknown>;
      assert.equal(timing.image, path.join(shared, `image${index + 3}.bmp`));
      for (const field of ['readMs', 'decodeMs', 'classifyMs', 'inferMs', 'replyMs', 'totalMs']) {
        assert.equal(typeof timing[field], 'number', field);
      }
      const inferMs = timing.inferMs as number;
      assert.ok(inferMs > 0, `Infer() took ${inferMs} ms`);
      assert.ok((timing.classifyMs as number) >= inferMs, 'classify includes Infer()');
      assert.ok((timing.totalMs as number) >= (timing.classifyMs as number), 'total includes it');
    }
  });

  test('--poll-ms mode answers a query', async () => {
    const realm = startRealm(['-N', '1', '--poll-ms', '50']);
    const image = await shareImage('image2.bmp');
    await sendTwoWrites(image);
    await waitForProcessed();
    assert.deepEqual(await realm.exit, { code: 0, signal: null });
    await assertImageOutput(image, 'image2.bmp', false);
    assert.ok(!(await outputLines()).includes(realmLines.appliedXnnpack()), 'no XNNPACK line');
  });

  test('missing image prints FATAL, exits 1', async () => {
    const realm = startRealm(['-x', '1']);
    const missing = path.join(shared, 'absent.bmp');
    await sendTwoWrites(missing);
    assert.deepEqual(await realm.exit, { code: 1, signal: null });
    const lines = await outputLines();
    assert.ok(lines.includes(realmLines.fatalNotFound(missing)), lines.join('\n'));
    assert.equal(
      await readFile(signallingFile(), 'utf8'),
      `systemState: query\nfileName: ${missing}\n`,
    );
  });

  test('corrupt BMP gives error line, realm continues', async () => {
    const realm = startRealm(['-N', '2']);
    const corrupt = path.join(shared, 'corrupt.bmp');
    await writeFile(corrupt, Buffer.concat([Buffer.from('BM'), Buffer.alloc(40, 0xff)]));
    await sendTwoWrites(corrupt);
    await waitForProcessed();
    const errorLine = (await outputLines()).find((l) => l.startsWith('ERROR: input file '));
    assert.ok(errorLine?.startsWith(realmLines.error(corrupt, '')), `error line: ${errorLine}`);
    assert.match(errorLine ?? '', /decoded: unsupported BMP header size/);

    const good = await shareImage('image3.bmp');
    await sendTwoWrites(good);
    await waitForProcessed();
    assert.deepEqual(await realm.exit, { code: 0, signal: null });
    await assertImageOutput(good, 'image3.bmp', false);
  });

  test('SIGTERM while waiting exits 0', async () => {
    const realm = startRealm([]);
    await waitFor('the first waiting line', async () =>
      (await outputLines()).includes(realmLines.waitingForQuery()) ? true : undefined,
    );
    realm.child.kill('SIGTERM');
    assert.deepEqual(await realm.exit, { code: 0, signal: null });
  });

  test('stops when its parent process ends', async () => {
    const parent = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    started.add(parent);
    const realm = startRealm(['--parent-pid', String(parent.pid)]);
    await waitFor('the first waiting line', async () =>
      (await outputLines()).includes(realmLines.waitingForQuery()) ? true : undefined,
    );
    parent.kill('SIGKILL');
    started.delete(parent);
    assert.deepEqual(await realm.exit, { code: 0, signal: null });
    assert.ok((await outputLines()).includes(`INFO: parent process ${parent.pid} ended; stopping`));
  });

  test('missing model prints FATAL, exits 1', async () => {
    const realm = startRealm(['-m', path.join(shared, 'absent.tflite')]);
    assert.deepEqual(await realm.exit, { code: 1, signal: null });
    const text = await readFile(outputFile(), 'utf8');
    assert.match(text, /^FATAL: Model file .*absent\.tflite not found$/m);
  });

  test('missing shared folder prints FATAL, exits 1', async () => {
    const realm = startRealm(['-S', path.join(shared, 'absent', 'signalling.txt')]);
    assert.deepEqual(await realm.exit, { code: 1, signal: null });
    const text = await readFile(outputFile(), 'utf8');
    assert.match(text, /^FATAL: Shared folder .*absent of the signalling file not found/m);
  });

  test('--help states no confidentiality', async () => {
    const result = await runScript(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /no confidentiality/);
    assert.match(result.stdout, /normal world/);
  });

  const badArguments: [string, string[], RegExp][] = [
    ['missing -m', ['-l', 'l.txt', '-S', 's.txt'], /Missing -m/],
    ['-x 2', ['-l', 'l', '-m', 'm', '-S', 's', '-x', '2'], /Invalid -x value "2"/],
    ['-N 0', ['-l', 'l', '-m', 'm', '-S', 's', '-N', '0'], /Invalid -N value "0"/],
    ['unknown option', ['-l', 'l', '-m', 'm', '-S', 's', '--bogus'], /--bogus/],
    ['positional', ['-l', 'l', '-m', 'm', '-S', 's', 'extra'], /extra/],
  ];
  for (const [name, args, message] of badArguments) {
    test(`bad arguments exit 2: ${name}`, async () => {
      const result = await runScript(args);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    });
  }
});

describe('parseRealmArguments', () => {
  test('reads the realm binary options', () => {
    const command = parseRealmArguments(
      ['-l', 'labels.txt', '-m', 'model.tflite', '-S', '/shared/signalling.txt'].concat([
        '-N',
        '3',
        '-x',
        '1',
        '-t',
        '2',
        '--poll-ms',
        '5000',
        '--timings',
        '/tmp/timings.jsonl',
      ]),
    );
    const expected: RealmArguments = {
      labelsPath: 'labels.txt',
      modelPath: 'model.tflite',
      signallingFile: '/shared/signalling.txt',
      imageCount: 3,
      xnnpack: true,
      threads: 2,
      pollMs: 5000,
      timingsFile: '/tmp/timings.jsonl',
    };
    assert.deepEqual(command, { kind: 'run', options: expected });
  });

  test('defaults: no count, no XNNPACK, one thread', () => {
    const command = parseRealmArguments(['-l', 'l', '-m', 'm', '-S', 's']);
    assert.deepEqual(command, {
      kind: 'run',
      options: { labelsPath: 'l', modelPath: 'm', signallingFile: 's', xnnpack: false, threads: 1 },
    });
  });

  test('help wins over missing options', () => {
    assert.deepEqual(parseRealmArguments(['-h']), { kind: 'help' });
  });

  test('rejects invalid numbers', () => {
    for (const args of [
      ['-t', '0'],
      ['-t', '1.5'],
      ['--poll-ms', '-5'],
      ['-N', 'ten'],
    ]) {
      assert.throws(
        () => parseRealmArguments(['-l', 'l', '-m', 'm', '-S', 's', ...args]),
        ArgumentError,
        args.join(' '),
      );
    }
  });
});
