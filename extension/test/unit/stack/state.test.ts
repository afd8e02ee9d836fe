import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  knownComponents,
  processRecordFile,
  stackLayout,
  type StackLayout,
} from '../../../core/stack/layout';
import { readProcessInfo } from '../../../core/stack/processes';
import { execFileRunner, startCommand, type ExecRunner } from '../../../core/stack/runner';
import {
  detectBuild,
  detectContainer,
  detectDownload,
  detectModifications,
  detectStackState,
  mergeStepState,
  readManifestProjects,
} from '../../../core/stack/state';
import { MemoryStateStore, parsePersistedState, StepRecords } from '../../../core/stack/records';

const temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'cca-state-'));
after(() => fs.rmSync(temporary, { recursive: true, force: true }));

let stackCount = 0;

/** Returns a new empty stack folder. */
function newStack(): StackLayout {
  stackCount += 1;
  const root = path.join(temporary, `stack-${stackCount}`);
  fs.mkdirSync(root, { recursive: true });
  return stackLayout(root);
}

function write(file: string, text = 'x', mtime?: Date): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  if (mtime) fs.utimesSync(file, mtime, mtime);
}

const manifest = `<?xml version="1.0" encoding="UTF-8"?>
<manifest>
  <remote name="arm" fetch="https://git.gitlab.arm.com" />
  <!-- <project name="old/unused" path="unused" /> -->
  <project remote="arm" name="arm-reference-solutions/build-scripts" path="build-scripts" revision="refs/tags/AEMFVP-A-RME-2023.12.22" />
  <project remote="arm" name="arm-reference-solutions/model-scripts" path="model-scripts" />
  <project remote="arm" name="TF-RMM/tf-rmm" path="rmm" />
  <project remote="arm" name="linux-arm/linux-cca" path="linux" >
    <linkfile src="x" dest="y" />
  </project>
  <project remote="arm" name="tools" path="tools" groups="notdefault,tools" />
  <project remote="arm" name="buildroot" />
</manifest>
`;

/** Writes `.repo/` with a manifest.xml that includes the pinned manifest, as repo 2.x does. */
function repoInit(layout: StackLayout): void {
  write(path.join(layout.manifestsDir, 'pinned-aemfvp-a-rme.xml'), manifest);
  write(
    layout.manifestFile,
    '<manifest>\n  <include name="pinned-aemfvp-a-rme.xml" />\n</manifest>\n',
  );
}

function checkOut(layout: StackLayout, projects: readonly string[], mtime?: Date): void {
  for (const project of projects) write(path.join(layout.root, project, 'README'), 'x', mtime);
}

const hourAgo = new Date(Date.now() - 3600_000);
const twoHoursAgo = new Date(Date.now() - 7200_000);

/** Writes sources two hours old and the build outputs an hour old. */
function built(layout: StackLayout): void {
  write(layout.handlerFile, 'handler', twoHoursAgo);
  write(path.join(layout.root, 'tf-a', 'bl31', 'bl31_main.c'), 'bl31', twoHoursAgo);
  write(layout.buildBuildrootScript, 'build', twoHoursAgo);
  for (const file of Object.values(layout.outputs)) write(file, 'out', hourAgo);
}

describe('detectDownload', () => {
  test('empty folder', async () => {
    const state = await detectDownload(newStack());
    assert.equal(state.state, 'notDone');
    assert.match(state.reason ?? '', /has no \.repo folder/);
  });

  test('repo init interrupted', async () => {
    const layout = newStack();
    fs.mkdirSync(layout.repoDir);
    assert.match((await detectDownload(layout)).reason ?? '', /repo init did not finish/);
  });

  test('manifest projects through an include', async () => {
    const layout = newStack();
    repoInit(layout);
    assert.deepEqual(await readManifestProjects(layout), [
      'build-scripts',
      'model-scripts',
      'rmm',
      'linux',
      'buildroot',
    ]);
  });

  test('partial sync', async () => {
    const layout = newStack();
    repoInit(layout);
    checkOut(layout, ['build-scripts', 'model-scripts', 'rmm']);
    // An empty folder is a project whose checkout had not started.
    fs.mkdirSync(path.join(layout.root, 'linux'));
    const state = await detectDownload(layout);
    assert.equal(state.state, 'notDone');
    assert.equal(
      state.reason,
      'partial sync: 2 of 5 projects missing (linux, buildroot); run the download again to resume',
    );
  });

  test('complete sync', async () => {
    const layout = newStack();
    repoInit(layout);
    checkOut(layout, ['build-scripts', 'model-scripts', 'rmm', 'linux', 'buildroot']);
    assert.equal((await detectDownload(layout)).state, 'done');
  });

  test('unreadable manifest falls back to the known components', async () => {
    const layout = newStack();
    write(layout.manifestFile, '<manifest></manifest>');
    checkOut(layout, knownComponents.slice(0, -1));
    const state = await detectDownload(layout);
    assert.match(state.reason ?? '', /1 of 8 projects missing \(hafnium\)/);
    checkOut(layout, ['hafnium']);
    assert.equal((await detectDownload(layout)).state, 'done');
  });
});

describe('detectBuild', () => {
  test('not built, partly built', async () => {
    const layout = newStack();
    assert.deepEqual(await detectBuild(layout), { state: 'notDone', reason: 'not built yet' });
    write(layout.outputs['fip.bin']);
    write(layout.outputs.Image);
    const partial = await detectBuild(layout);
    assert.equal(partial.state, 'notDone');
    assert.equal(
      partial.reason,
      'missing in output/aemfvp-a-rme: bl1.bin, fip-std-tests.bin, host-fs.ext4',
    );
  });

  test('done, then out of date after a handler.c change', async () => {
    const layout = newStack();
    built(layout);
    assert.equal((await detectBuild(layout)).state, 'done');

    fs.utimesSync(layout.handlerFile, new Date(), new Date());
    assert.deepEqual(await detectBuild(layout), {
      state: 'outOfDate',
      reason: 'rmm/runtime/core/handler.c changed after fip.bin was built',
    });
  });

  test('tf-a source and modified build-buildroot.sh', async () => {
    const layout = newStack();
    built(layout);
    write(path.join(layout.root, 'tf-a', 'bl31', 'bl31_main.c'), 'changed');
    assert.match(
      (await detectBuild(layout)).reason ?? '',
      /^tf-a\/bl31\/bl31_main\.c changed after fip\.bin/,
    );

    const other = newStack();
    built(other);
    write(other.buildBuildrootScript, 'replaced by the modifications');
    assert.equal(
      (await detectBuild(other)).reason,
      'build-scripts/build-buildroot.sh changed after host-fs.ext4 was built',
    );
  });

  test('git metadata and build folders are not sources', async () => {
    const layout = newStack();
    built(layout);
    write(path.join(layout.rmmDir, '.git', 'FETCH_HEAD'));
    write(path.join(layout.rmmDir, 'build', 'rmm.img'));
    write(path.join(layout.root, 'tf-a', 'build', 'fvp', 'debug', 'bl31.bin'));
    write(path.join(layout.root, 'linux', 'init', 'main.c'));
    assert.equal((await detectBuild(layout)).state, 'done');
  });

  test('output symlinks are followed', async () => {
    const layout = newStack();
    built(layout);
    const target = path.join(layout.root, 'tf-a', 'build', 'fip.bin');
    write(target, 'fip', twoHoursAgo);
    fs.rmSync(layout.outputs['fip.bin']);
    fs.symlinkSync(target, layout.outputs['fip.bin']);
    write(layout.handlerFile, 'newer than the link target', hourAgo);
    assert.equal((await detectBuild(layout)).state, 'outOfDate');
  });
});

describe('detectContainer', () => {
  const noEngine = { ...process.env, DOCKER_HOST: `unix://${temporary}/no-engine.sock` };
  const withEnv =
    (env: NodeJS.ProcessEnv): ExecRunner =>
    (command, args, options) =>
      execFileRunner(command, args, { ...options, env });

  test('no engine', async () => {
    const state = await detectContainer('docker', 'aemfvp-builder', withEnv(noEngine));
    assert.equal(state.state, 'notDone');
    assert.match(
      state.reason ?? '',
      /^cannot check image aemfvp-builder: Cannot connect to the Docker daemon/,
    );
  });

  test('image present or missing', async () => {
    // A stand-in for `docker image inspect` with an engine, which this machine lacks; it
    // prints what Docker prints for a missing image.
    const docker = path.join(temporary, 'docker');
    fs.writeFileSync(
      docker,
      '#!/bin/sh\n[ "$1 $2" = "image inspect" ] || exit 2\n' +
        'if [ "$5" = aemfvp-builder ]; then echo sha256:0123; exit 0; fi\n' +
        'echo "Error response from daemon: No such image: $5" >&2; exit 1\n',
      { mode: 0o755 },
    );
    assert.equal((await detectContainer(docker, 'aemfvp-builder')).state, 'done');
    assert.deepEqual(await detectContainer(docker, 'other'), {
      state: 'notDone',
      reason: 'image other has not been built',
    });
  });
});

describe('detectModifications', () => {
  test('by the content check', async () => {
    const layout = newStack();
    assert.match(
      (await detectModifications(layout, () => Promise.resolve(true))).reason ?? '',
      /not downloaded/,
    );
    fs.mkdirSync(layout.buildScriptsDir);
    let seen: StackLayout | undefined;
    const applied = await detectModifications(layout, (given) => {
      seen = given;
      return Promise.resolve(true);
    });
    assert.equal(applied.state, 'done');
    assert.equal(seen, layout);
    const partly = await detectModifications(layout, () =>
      Promise.resolve({ applied: false, detail: 'build-linux.sh still applies the patch' }),
    );
    assert.deepEqual(partly, {
      state: 'notDone',
      reason: 'build-linux.sh still applies the patch',
    });
    const broken = await detectModifications(layout, () => Promise.reject(new Error('unreadable')));
    assert.deepEqual(broken, {
      state: 'notDone',
      reason: 'cannot check the modifications: unreadable',
    });
  });
});

describe('persisted records', () => {
  test('started and finished', async () => {
    const records = new StepRecords(new MemoryStateStore());
    await records.started('build', '/s/.cca/logs/build.log', new Date('2026-01-02T03:04:05Z'));
    assert.deepEqual(records.get('build'), {
      state: 'running',
      lastRun: '2026-01-02T03:04:05.000Z',
      logFile: '/s/.cca/logs/build.log',
    });
    await records.finished('build', { durationMs: 1234, error: 'make: *** Error 2' });
    assert.deepEqual(records.get('build'), {
      state: 'failed',
      lastRun: '2026-01-02T03:04:05.000Z',
      logFile: '/s/.cca/logs/build.log',
      durationMs: 1234,
      lastError: 'make: *** Error 2',
    });
    await records.finished('build', { durationMs: 99 });
    assert.equal(records.get('build')?.state, 'done');
    assert.equal(records.get('build')?.lastError, undefined);
  });

  test('JSON round trip and invalid entries', () => {
    const parsed = parsePersistedState(
      JSON.parse(
        JSON.stringify({
          version: 1,
          steps: {
            build: { state: 'done', durationMs: 5, lastRun: 7 },
            boot: { state: 'sleeping' },
            nonsense: { state: 'done' },
          },
        }),
      ),
    );
    assert.deepEqual(parsed, { version: 1, steps: { build: { state: 'done', durationMs: 5 } } });
    assert.deepEqual(parsePersistedState('garbage'), { version: 1, steps: {} });
  });
});

describe('mergeStepState', () => {
  const run = { lastRun: '2026-01-02T03:04:05.000Z', logFile: '/l' };

  test('live process wins', () => {
    assert.equal(mergeStepState('build', { state: 'done' }, undefined, true).state, 'running');
  });

  test('recorded run whose process is gone', () => {
    const crashed = mergeStepState(
      'build',
      { state: 'done', reason: 'outputs' },
      { ...run, state: 'running' },
      false,
    );
    assert.equal(crashed.state, 'done');
    assert.equal(
      crashed.reason,
      'outputs; the run started 2026-01-02T03:04:05.000Z did not finish',
    );
    assert.equal(crashed.logFile, '/l');

    const noDisk = mergeStepState('prerequisites', undefined, { ...run, state: 'running' }, false);
    assert.equal(noDisk.state, 'failed');
  });

  test('recorded failure until done', () => {
    const failed = mergeStepState(
      'build',
      { state: 'outOfDate' },
      { state: 'failed', lastError: 'E' },
      false,
    );
    assert.equal(failed.state, 'failed');
    assert.equal(failed.reason, 'E');

    const rebuiltElsewhere = mergeStepState(
      'build',
      { state: 'done' },
      { state: 'failed', lastError: 'E' },
      false,
    );
    assert.equal(rebuiltElsewhere.state, 'done');
  });

  test('disk over record, record without disk', () => {
    const removed = mergeStepState('build', { state: 'notDone' }, { state: 'done' }, false);
    assert.equal(removed.state, 'notDone');
    assert.equal(mergeStepState('realm', undefined, { state: 'done' }, false).state, 'done');
    assert.equal(mergeStepState('realm', undefined, undefined, false).state, 'notDone');
  });
});

describe('detectStackState', () => {
  const noEngine = { ...process.env, DOCKER_HOST: `unix://${temporary}/no-engine.sock` };
  const exec: ExecRunner = (command, args, options) =>
    execFileRunner(command, args, { ...options, env: noEngine });

  test('after a crash: recorded runs with dead processes', async () => {
    const layout = newStack();
    repoInit(layout);
    checkOut(layout, ['build-scripts', 'model-scripts', 'rmm', 'linux', 'buildroot'], twoHoursAgo);
    built(layout);

    // The FVP of the earlier session, which has exited since.
    const gone = startCommand({ command: 'true', args: [], cwd: layout.root });
    await gone.exited;
    const info = { pid: gone.pid ?? 1, pgid: gone.pid ?? 1, startTicks: 1 };
    fs.mkdirSync(layout.processDir, { recursive: true });
    fs.writeFileSync(
      processRecordFile(layout, 'boot'),
      JSON.stringify({
        ...info,
        argv: ['boot.sh'],
        cwd: layout.root,
        startedAt: '',
        match: 'FVP_Base_RevC-2xAEMvA',
      }),
    );

    const records = new StepRecords(new MemoryStateStore());
    for (const step of ['build', 'boot', 'realm', 'inference'] as const) {
      await records.started(step, undefined, new Date('2026-01-02T03:04:05Z'));
    }
    const state = await detectStackState({
      layout,
      docker: 'docker',
      image: 'aemfvp-builder',
      modificationsApplied: () => Promise.resolve(false),
      records,
      exec,
    });

    assert.equal(state.download.state, 'done');
    assert.equal(state.modifications.state, 'notDone');
    assert.equal(state.container.state, 'notDone');
    assert.equal(state.build.state, 'done');
    assert.match(state.build.reason ?? '', /did not finish/);
    assert.equal(state.boot.state, 'notDone');
    assert.match(state.boot.reason ?? '', /^the FVP is not running; /);
    assert.equal(state.realm.state, 'notDone');
    assert.equal(state.inference.state, 'notDone');
    assert.equal(state.prerequisites.state, 'notDone');
  });

  test('running FVP, realm recorded running', async () => {
    const layout = newStack();
    const fvpFolder = path.join(temporary, 'fvp');
    fs.mkdirSync(fvpFolder, { recursive: true });
    const fvp = path.join(fvpFolder, 'FVP_Base_RevC-2xAEMvA');
    fs.writeFileSync(fvp, '#!/bin/sh\necho ready\nexec sleep 300\n', { mode: 0o755 });
    let ready = false;
    const running = startCommand(
      { command: 'sh', args: ['-c', `"${fvp}"; true`], cwd: layout.root },
      {
        recordFile: processRecordFile(layout, 'boot'),
        match: 'FVP_Base_RevC-2xAEMvA',
        onLine: (line) => (ready ||= line === 'ready'),
      },
    );
    try {
      while (!ready) await new Promise((resolve) => setTimeout(resolve, 20));
      const records = new StepRecords(new MemoryStateStore());
      await records.started('realm');
      await records.set('inference', { state: 'done' });
      const state = await detectStackState({
        layout,
        docker: 'docker',
        image: 'aemfvp-builder',
        modificationsApplied: () => Promise.resolve(false),
        records,
        prerequisites: [
          { id: 'docker', title: 'Docker engine', ok: false, detail: 'no engine' },
          { id: 'host', title: 'Linux host', ok: true, detail: 'Linux' },
        ],
        exec,
      });
      assert.equal(state.boot.state, 'running');
      assert.equal(state.realm.state, 'running');
      assert.equal(state.inference.state, 'done');
      assert.equal(state.prerequisites.state, 'failed');
      assert.equal(state.prerequisites.reason, 'Docker engine: no engine');
    } finally {
      await running.stop(2000);
    }
    assert.equal(readProcessInfo(running.pid ?? -1), undefined);
  });
});
