// Shell metacharacters in every path and option a user supplies reach each external command as
// plain argument text: commands start from argument arrays, and the lines typed into a shell
// quote every word. A command that a shell interpreted would create the canary file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startEmulatedRealm } from '../../../core/emulated-realm/launcher';
import {
  bootCommand,
  buildAllArgv,
  componentBuildArgv,
  containerBuildCommand,
  inContainerCommand,
  repoInitArgv,
  type CommandSpec,
} from '../../../core/stack/commands';
import {
  buildInferenceArgv,
  buildInferenceServiceLines,
} from '../../../core/stack/inference-service';
import { buildLkvmArgv, renderRealmLaunchLines, type RealmProfile } from '../../../core/stack/lkvm';
import { planNinePRootPath } from '../../../core/stack/modifications';
import { stackLayout } from '../../../core/stack/layout';
import { execFileRunner, startCommand } from '../../../core/stack/runner';

const canary = 'PWNED';

/** One path component or option value with the characters a shell acts on. */
const nasty = [
  `a b $(touch ${canary}) \`touch ${canary}\``,
  `;touch ${canary}|touch ${canary}&&touch ${canary} >${canary}`,
  `'q' "d" * ? [x] ~ \\ # ü 共`,
].join('');
/** The same with a line break, which argument arrays carry and shell lines cannot. */
const nastyLines = `${nasty}\nsecond line`;

let work: string;

const shells: string[][] = [['sh'], ['bash']];
if (existsSync('/usr/bin/busybox') || existsSync('/bin/busybox')) shells.push(['busybox', 'sh']);

/** Lists every file named like the canary below a folder. */
function findCanaries(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.name === canary) found.push(full);
    if (entry.isDirectory() && !entry.isSymbolicLink()) found.push(...findCanaries(full));
  }
  return found;
}

function assertNoCanary(): void {
  assert.deepEqual(findCanaries(work), []);
  assert.equal(existsSync(path.join(process.cwd(), canary)), false);
}

/**
 * Writes an executable that records its argv (NUL-separated), working folder and FVP_DIR into
 * `<RECORD_FILE>`, `.cwd` and `.env`, at `file` (folders created).
 */
async function writeRecorder(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    [
      '#!/bin/sh',
      'printf \'%s\\0\' "$@" > "$RECORD_FILE"',
      'pwd > "$RECORD_FILE.cwd"',
      'printf \'%s\' "${FVP_DIR-unset}" > "$RECORD_FILE.env"',
      '',
    ].join('\n'),
  );
  await chmod(file, 0o755);
}

interface Recorded {
  argv: string[];
  cwd: string;
  fvpDir: string;
}

/** Runs a spec with the runner the product uses and returns what the program received. */
async function runSpec(spec: CommandSpec): Promise<Recorded> {
  const record = path.join(work, `record-${Math.random().toString(16).slice(2)}`);
  const running = startCommand({ ...spec, env: { ...spec.env, RECORD_FILE: record } });
  const result = await running.exited;
  assert.equal(result.code, 0, `${spec.command} exited with ${result.code}: ${result.error}`);
  return {
    argv: (await readFile(record, 'utf8')).split('\0').slice(0, -1),
    cwd: (await readFile(`${record}.cwd`, 'utf8')).replace(/\n$/, ''),
    fvpDir: await readFile(`${record}.env`, 'utf8'),
  };
}

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'cca-metacharacters-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('stack commands from argument arrays', () => {
  test('container.sh build', async () => {
    const dockerRepo = path.join(work, `docker ${nastyLines}`);
    await writeRecorder(path.join(dockerRepo, 'container.sh'));
    const spec = containerBuildCommand({ dockerRepo, image: nastyLines });
    const seen = await runSpec(spec);
    assert.deepEqual(seen.argv, ['-i', nastyLines, 'build']);
    assert.equal(seen.cwd, dockerRepo);
    assertNoCanary();
  });

  test('docker run of repo init', async () => {
    const docker = path.join(work, `bin ${nasty}`, 'docker');
    await writeRecorder(docker);
    const stackRoot = path.join(work, `stack ${nastyLines}`);
    await mkdir(stackRoot, { recursive: true });
    const spec = inContainerCommand({
      docker,
      image: nastyLines,
      stackRoot,
      cwd: path.join(stackRoot, nasty),
      argv: repoInitArgv({ manifestUrl: nastyLines, manifest: nasty, tag: nasty }),
      user: { uid: 1000, gid: 1000 },
      name: 'cca-test',
      env: { V: nastyLines },
      mounts: [path.join(work, `overlay ${nasty}`)],
      tty: false,
    });

    const seen = await runSpec(spec);
    assert.deepEqual(seen.argv, spec.args);
    assert.ok(seen.argv.includes(`${stackRoot}:${stackRoot}`));
    assert.ok(seen.argv.includes(`V=${nastyLines}`));
    assert.deepEqual(seen.argv.slice(-8), [
      'repo',
      'init',
      '-u',
      nastyLines,
      '-m',
      nasty,
      '-b',
      nasty,
    ]);

    // The stop hooks are argument arrays too.
    const hook = spec.stopHooks?.kill ?? [];
    const hookResult = await execFileRunner(hook[0] ?? '', hook.slice(1), {
      timeoutMs: 5000,
      env: { ...process.env, RECORD_FILE: path.join(work, 'hook-record') },
    });
    assert.equal(hookResult.code, 0);
    assert.deepEqual(
      (await readFile(path.join(work, 'hook-record'), 'utf8')).split('\0').slice(0, -1),
      ['kill', 'cca-test'],
    );

    assertNoCanary();
  });

  test('build and boot scripts', async () => {
    const root = path.join(work, `rme-stack ${nastyLines}`);
    const layout = stackLayout(root);
    await writeRecorder(layout.bootScript);
    await writeRecorder(layout.buildAllScript);
    await writeRecorder(path.join(layout.buildScriptsDir, 'build-rmm.sh'));

    const fvpDir = path.join(work, `FVP ${nastyLines}`);
    const boot = await runSpec(bootCommand(layout, 'shell', { name: 'FVP_DIR', value: fvpDir }));
    assert.deepEqual(boot.argv, ['-p', 'aemfvp-a-rme', 'shell']);
    assert.equal(boot.cwd, layout.root);
    assert.equal(boot.fvpDir, fvpDir);

    for (const argv of [
      buildAllArgv(layout, 'build'),
      componentBuildArgv(layout, 'rmm', 'build'),
    ]) {
      const seen = await runSpec({ command: argv[0] ?? '', args: argv.slice(1), cwd: layout.root });
      assert.deepEqual(seen.argv, argv.slice(1));
    }

    // A component name comes from the stack's files, and one with metacharacters is rejected.
    assert.throws(() => componentBuildArgv(layout, nasty, 'build'));
    assertNoCanary();
  });
});

/**
 * Types lines into a shell whose mkdir and grep are real and whose listed commands are
 * functions that record their argv and return the given status.
 */
function runInShell(
  shell: string[],
  lines: string[],
  record: string,
  functions: Record<string, number>,
): string {
  const recorders = Object.entries(functions).map(
    ([name, status]) =>
      `${name}() { printf '%s\\0' ${name} "$@" >> '${record}'; printf '\\n' >> '${record}'; ` +
      `return ${status}; }`,
  );
  return execFileSync(
    shell[0] ?? 'sh',
    [...shell.slice(1), '-c', [...recorders, ...lines, 'wait'].join('\n')],
    {
      cwd: work,
    },
  ).toString('utf8');
}

async function recordedCalls(record: string): Promise<string[][]> {
  const text = await readFile(record, 'utf8').catch(() => '');
  return text
    .split('\0\n')
    .filter((call) => call !== '')
    .map((call) => call.split('\0'));
}

describe('lines typed into a shell', () => {
  for (const shell of shells) {
    test(`lkvm launch lines in ${shell.join(' ')}`, async () => {
      const share = path.join(work, `share ${shell.join('-')} ${nasty.replace(/,/g, '')}`);
      const profile: RealmProfile = {
        name: nasty,
        cpus: 2,
        memoryMb: 512,
        kernel: `/realm/${nasty}/Image`,
        disk: `/realm/${nasty}.img`,
        ninePFolder: share,
        ninePTag: 'sh',
        irqchip: 'gicv3',
        sve: true,
        extraArguments: [nasty, `--debug=${nasty}`],
      };
      const record = path.join(work, `lkvm-${shell.join('-')}`);
      runInShell(shell, renderRealmLaunchLines(profile), record, { lkvm: 0 });
      assert.deepEqual(await recordedCalls(record), [buildLkvmArgv(profile)]);
      assert.ok(statSync(share).isDirectory(), 'mkdir -p made the 9p folder');
      assertNoCanary();
    });

    test(`inference service lines in ${shell.join(' ')}`, async () => {
      const mountPoint = path.join(work, `mount ${shell.join('-')} ${nasty}`);
      const binary = path.join(work, `bin ${nasty}`, 'realm_inference');
      await writeRecorder(binary);
      const options = {
        model: `${mountPoint}/${nasty}.tflite`,
        labels: `/root/${nasty}.txt`,
        imageCount: 3,
        mountPoint,
        signallingFile: `${mountPoint}/${nasty}.txt`,
        outputFile: `${mountPoint}/out ${nasty}.txt`,
        mountTable: path.join(work, `mounts ${nasty}`),
        binary,
      };
      const record = path.join(work, `service-${shell.join('-')}`);
      const lines = buildInferenceServiceLines(options);
      // pidof finds no running service, so the line starts it.
      runInShell(shell, [`export RECORD_FILE='${record}.argv'`, ...lines], record, {
        mount: 0,
        pidof: 1,
      });

      const calls = await recordedCalls(record);
      assert.deepEqual(calls[0], ['mount', '-t', '9p', '-o', 'trans=virtio', 'sh', mountPoint]);
      assert.deepEqual(calls[1], ['pidof', 'realm_inference']);
      // The service ran in the background; wait for its record.
      const deadline = Date.now() + 5000;
      while (!existsSync(`${record}.argv`) && Date.now() < deadline) await delay(20);
      const argv = (await readFile(`${record}.argv`, 'utf8')).split('\0').slice(0, -1);
      assert.deepEqual(argv, buildInferenceArgv(options).slice(1));
      assert.ok(existsSync(options.outputFile), 'output redirected to the nasty file name');
      assertNoCanary();
    });
  }

  test('inference options that cannot be quoted', () => {
    const base = { model: '/m.tflite', labels: '/l.txt', imageCount: 1 };
    assert.throws(
      () => buildInferenceServiceLines({ ...base, tag: nasty }),
      /tag ".*" is not made of/,
    );
    assert.throws(
      () => buildInferenceServiceLines({ ...base, mountOptions: nasty }),
      /mountOptions/,
    );
    assert.throws(
      () => buildInferenceServiceLines({ ...base, model: `/${nastyLines}` }),
      /control character/,
    );
  });

  test('run_model.sh share folder', async () => {
    const share = path.join(work, `share ${nasty}`);
    const script = path.join(work, 'run_model.sh');
    const runModel = [
      '#!/usr/bin/env bash',
      '"$MODEL" \\',
      '\t-C bp.secure_memory=1 \\',
      '\t-C gic_distributor.extended-spi-count=992 \\',
      '\t-C bp.pl011_uart0.out_file=uart0.log',
      '',
    ].join('\n');
    await writeFile(script, planNinePRootPath(runModel, share).next);

    const model = path.join(work, 'model-recorder');
    await writeRecorder(model);
    const record = path.join(work, 'model-record');
    execFileSync('bash', [script], {
      cwd: work,
      env: { ...process.env, MODEL: model, RECORD_FILE: record },
    });
    const argv = (await readFile(record, 'utf8')).split('\0').slice(0, -1);
    assert.deepEqual(argv, [
      '-C',
      'bp.secure_memory=1',
      '-C',
      'gic_distributor.extended-spi-count=992',
      '-C',
      `bp.virtiop9device.root_path=${share}`,
      '-C',
      'bp.pl011_uart0.out_file=uart0.log',
    ]);

    assert.throws(() => planNinePRootPath(runModel, `/${nastyLines}`), /control character/);
    assertNoCanary();
  });
});

describe('the emulated realm launcher', () => {
  test('paths reach the realm process as is', async () => {
    const folder = path.join(work, `realm ${nastyLines}`);
    const sharedDir = path.join(folder, `shared ${nasty}`);
    await mkdir(sharedDir, { recursive: true });

    // A stand-in for the realm's entry script that records its arguments and exits.
    const script = path.join(folder, `entry ${nasty}.js`);
    await writeFile(
      script,
      'const argv = JSON.stringify(process.argv.slice(2));\n' +
        "require('node:fs').writeFileSync(process.env.RECORD_FILE, argv);\n",
    );

    const record = path.join(work, 'launcher-record.json');
    process.env.RECORD_FILE = record;
    try {
      const realm = startEmulatedRealm({
        script,
        model: path.join(folder, `${nasty}.tflite`),
        labels: path.join(folder, `${nastyLines}.txt`),
        sharedDir,
        imageCount: 2,
      });
      assert.equal(await realm.exited, 0);
    } finally {
      delete process.env.RECORD_FILE;
    }

    const argv = JSON.parse(await readFile(record, 'utf8')) as string[];
    assert.deepEqual(argv.slice(0, 10), [
      '-l',
      path.join(folder, `${nastyLines}.txt`),
      '-m',
      path.join(folder, `${nasty}.tflite`),
      '-S',
      path.join(sharedDir, 'signalling.txt'),
      '-x',
      '1',
      '-N',
      '2',
    ]);
    assert.deepEqual(await readdir(sharedDir), ['output.txt']);
    assertNoCanary();
  });
});

describe('the product sources', () => {
  test('no child process runs through a shell', async () => {
    const root = path.resolve(__dirname, '..', '..', '..', '..', 'extension');
    const offenders: string[] = [];
    const scan = async (folder: string): Promise<void> => {
      for (const entry of await readdir(folder, { withFileTypes: true })) {
        const full = path.join(folder, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'test') await scan(full);
        } else if (entry.name.endsWith('.ts')) {
          const text = await readFile(full, 'utf8');
          const relative = path.relative(root, full);
          // exec and execSync always run a shell; shell: true makes spawn and execFile do so.
          if (/\bimport\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*'node:child_process'/.test(text)) {
            offenders.push(`${relative}: imports exec or execSync`);
          }
          if (/\bshell\s*:\s*(true|['"`])/.test(text)) offenders.push(`${relative}: shell option`);
          if (/child_process['"]\)?\.exec(Sync)?\(/.test(text))
            offenders.push(`${relative}: exec call`);
        }
      }
    };
    await scan(root);
    assert.deepEqual(offenders, []);
  });
});
