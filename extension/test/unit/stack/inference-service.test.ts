import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ALREADY_RUNNING_MESSAGE,
  buildInferenceArgv,
  buildInferenceServiceLines,
  recogniseInferenceLine,
  recogniseInferenceOutput,
  summariseInferenceStart,
} from '../../../core/stack/inference-service';

const MODEL = '/root/models/mobilenet_v1_1.0_224.tflite';
const LABELS = '/root/models/labels.txt';

// Shells that stand in for the realm's busybox ash.
const SHELLS: string[][] = [['sh']];
if (existsSync('/usr/bin/busybox') || existsSync('/bin/busybox')) SHELLS.push(['busybox', 'sh']);

let workFolder: string;
let runNumber = 0;

before(async () => {
  workFolder = await mkdtemp(path.join(os.tmpdir(), 'cca-inference-service-test-'));
});

after(async () => {
  await rm(workFolder, { recursive: true, force: true });
});

interface ShellRun {
  mountCalls: string[][];
  serviceArgv?: string[];
  console: string;
}

/**
 * Types the lines into a real shell. mkdir and grep are the real commands. mount, pidof and
 * realm_inference are shell functions that record their arguments, because the host cannot
 * mount 9p or run the realm binary.
 */
async function runLines(
  shell: string[],
  lines: string[],
  options: { running?: boolean } = {},
): Promise<ShellRun> {
  runNumber += 1;
  const record = path.join(workFolder, `record-${runNumber}`);
  const script = [
    `mount() { printf '%s\\0' "$@" >> '${record}.mount'; printf '\\n' >> '${record}.mount'; }`,
    `pidof() { return ${options.running ? 0 : 1}; }`,
    `realm_inference() { printf '%s\\0' "$@" > '${record}.argv'; echo 'INFO: Loaded model'; }`,
    ...lines,
    'wait',
  ].join('\n');
  const consoleOutput = execFileSync(shell[0], [...shell.slice(1), '-c', script]).toString();

  const mountText = await readFile(`${record}.mount`, 'utf8').catch(() => '');
  const mountCalls = mountText
    .split('\n')
    .filter((call) => call !== '')
    .map((call) => call.split('\0').slice(0, -1));
  const argvText = await readFile(`${record}.argv`, 'utf8').catch(() => undefined);
  const run: ShellRun = { mountCalls, console: consoleOutput };
  if (argvText !== undefined) run.serviceArgv = argvText.split('\0').slice(0, -1);
  return run;
}

describe('buildInferenceArgv', () => {
  test('defaults follow the realm start script', () => {
    assert.deepEqual(buildInferenceArgv({ model: MODEL, labels: LABELS, imageCount: 5 }), [
      'realm_inference',
      '-l',
      LABELS,
      '-m',
      MODEL,
      '-S',
      '/root/shared_with_realm/signalling.txt',
      '-N',
      '5',
      '-x',
      '1',
    ]);
  });

  test('without XNNPACK and with another share', () => {
    const argv = buildInferenceArgv({
      model: MODEL,
      labels: LABELS,
      imageCount: 1,
      mountPoint: '/mnt/share/',
      xnnpack: false,
      binary: '/usr/bin/realm_inference',
    });
    assert.deepEqual(argv.slice(0, 1), ['/usr/bin/realm_inference']);
    assert.equal(argv[argv.indexOf('-S') + 1], '/mnt/share/signalling.txt');
    assert.ok(!argv.includes('-x'));
  });

  test('rejects invalid options, all at once', () => {
    assert.throws(
      () =>
        buildInferenceArgv({ model: 'model.tflite', labels: LABELS, imageCount: 0, tag: 'a,b' }),
      (error: unknown) =>
        error instanceof Error &&
        /model "model\.tflite" is not an absolute path/.test(error.message) &&
        /imageCount 0 is not a whole number/.test(error.message) &&
        /tag "a,b"/.test(error.message),
    );
  });

  test('rejects a newline in a path', () => {
    assert.throws(
      () => buildInferenceArgv({ model: '/a\nb', labels: LABELS, imageCount: 1 }),
      /model contains a control character/,
    );
  });
});

describe('buildInferenceServiceLines', () => {
  test('lines for the default share', () => {
    const lines = buildInferenceServiceLines({ model: MODEL, labels: LABELS, imageCount: 3 });
    assert.deepEqual(lines.slice(0, 2), [
      'mkdir -p /root/shared_with_realm',
      "grep -qsF ' /root/shared_with_realm 9p ' /proc/mounts || " +
        'mount -t 9p -o trans=virtio sh /root/shared_with_realm',
    ]);
    assert.match(lines[2], /^if pidof realm_inference >\/dev\/null; then echo /);
    assert.match(lines[2], / >\/root\/shared_with_realm\/output\.txt 2>&1 & fi$/);
  });

  for (const shell of SHELLS) {
    test(`mounts and starts in ${shell.join(' ')}`, async () => {
      const mountPoint = path.join(workFolder, `share ${runNumber} it's`);
      const mountTable = path.join(workFolder, 'mounts-empty');
      await writeFile(mountTable, 'proc /proc proc rw 0 0\n');
      const options = { model: `${mountPoint}/m.tflite`, labels: LABELS, imageCount: 2 };
      const run = await runLines(
        shell,
        buildInferenceServiceLines({ ...options, mountPoint, mountTable }),
      );

      assert.ok((await stat(mountPoint)).isDirectory());
      assert.deepEqual(run.mountCalls, [['-t', '9p', '-o', 'trans=virtio', 'sh', mountPoint]]);
      assert.deepEqual(run.serviceArgv, buildInferenceArgv({ ...options, mountPoint }).slice(1));
      assert.equal(
        await readFile(path.join(mountPoint, 'output.txt'), 'utf8'),
        'INFO: Loaded model\n',
      );
    });

    test(`skips a mounted share in ${shell.join(' ')}`, async () => {
      const mountPoint = path.join(workFolder, `mounted share ${runNumber}`);
      const mountTable = path.join(workFolder, `mounts-${runNumber}`);
      // The kernel writes a space in a mount point as \040.
      await writeFile(
        mountTable,
        `sh ${mountPoint.replace(/ /g, '\\040')} 9p rw,relatime,trans=virtio 0 0\n`,
      );
      const run = await runLines(
        shell,
        buildInferenceServiceLines({
          model: MODEL,
          labels: LABELS,
          imageCount: 1,
          mountPoint,
          mountTable,
        }),
      );
      assert.deepEqual(run.mountCalls, []);
      assert.ok(run.serviceArgv);
    });

    test(`does not start twice in ${shell.join(' ')}`, async () => {
      const mountPoint = path.join(workFolder, `running-${runNumber}`);
      const run = await runLines(
        shell,
        buildInferenceServiceLines({
          model: MODEL,
          labels: LABELS,
          imageCount: 1,
          mountPoint,
          mountTable: path.join(workFolder, 'no-such-mount-table'),
        }),
        { running: true },
      );
      assert.equal(run.serviceArgv, undefined);
      assert.equal(run.console, `${ALREADY_RUNNING_MESSAGE}\n`);
      assert.equal(recogniseInferenceLine(run.console)?.kind, 'already-running');
    });
  }

  test('foreground without output file', () => {
    const lines = buildInferenceServiceLines({
      model: MODEL,
      labels: LABELS,
      imageCount: 1,
      outputFile: null,
    });
    assert.doesNotMatch(lines[2], /2>&1|&\s*fi/);
  });
});

describe('recogniseInferenceLine', () => {
  const cases: [string, string, string | undefined][] = [
    [`INFO: Loaded model ${MODEL}`, 'model-loaded', MODEL],
    ['INFO: Applied XNNPACK delegate.', 'delegate-applied', undefined],
    ['Waiting for signalling file...', 'waiting', undefined],
    ["Waiting for system state to become 'query'...", 'waiting', undefined],
    [
      'FATAL: input file /root/shared_with_realm/a.bmp not found',
      'input-not-found',
      '/root/shared_with_realm/a.bmp',
    ],
    ['FATAL: something else broke', 'fatal', undefined],
    [`ERROR: Could not open '${MODEL}'.`, 'model-not-found', MODEL],
    [`Failed to mmap model ${MODEL}`, 'model-not-found', MODEL],
    ['Failed to construct interpreter', 'model-invalid', undefined],
    ['ERROR: The model is not a valid Flatbuffer buffer', 'model-invalid', undefined],
    [`Labels file ${LABELS} not found`, 'labels-not-found', LABELS],
    ['-sh: realm_inference: not found', 'binary-not-found', undefined],
    [
      'mount: mounting sh on /root/shared_with_realm failed: No such file or directory',
      'mount-failed',
      '/root/shared_with_realm',
    ],
  ];
  for (const [line, kind, file] of cases) {
    test(kind + (file ? ` ${path.basename(file)}` : ''), () => {
      const event = recogniseInferenceLine(`${line}\r`);
      assert.equal(event?.kind, kind);
      assert.equal(event.path, file);
      assert.equal(event.line, line);
    });
  }

  test('mount failure reasons', () => {
    const noDevice = recogniseInferenceLine('mount: mounting sh on /mnt failed: No such device');
    assert.match(noDevice?.message ?? '', /no 9p file system/);
    const noTag = recogniseInferenceLine(
      'mount: mounting sh on /mnt failed: No such file or directory',
    );
    assert.match(noTag?.message ?? '', /no 9p device has that tag/);
  });

  test('unknown lines are ignored', () => {
    assert.equal(recogniseInferenceLine('INFO: Number of threads1'), undefined);
    assert.equal(
      recogniseInferenceLine('INFO: Created TensorFlow Lite XNNPACK delegate for CPU.'),
      undefined,
    );
    assert.equal(recogniseInferenceLine('INFO: 0.784314: 653 653:military uniform'), undefined);
  });
});

describe('summariseInferenceStart', () => {
  test('running once it polls', () => {
    const text = [
      `INFO: Loaded model ${MODEL}`,
      'INFO: Number of threads1',
      'INFO: checkSystemStateAndGetFilename--------------------------------',
      'Waiting for signalling file...',
    ].join('\n');
    const summary = summariseInferenceStart(text);
    assert.equal(summary.outcome, 'running');
    assert.deepEqual(
      summary.events.map((event) => event.kind),
      ['model-loaded', 'waiting'],
    );
  });

  test('starting before output', () => {
    assert.equal(summariseInferenceStart(`INFO: Loaded model ${MODEL}\n`).outcome, 'starting');
  });

  test('failed on a fatal line', () => {
    const text = 'Waiting for signalling file...\nFATAL: input file /x.bmp not found\n';
    const summary = summariseInferenceStart(text);
    assert.equal(summary.outcome, 'failed');
    assert.equal(summary.error?.kind, 'input-not-found');
    assert.equal(summary.error.lineIndex, 1);
    assert.equal(recogniseInferenceOutput(text).length, 2);
  });
});
