// The container, download and build steps against the fixture rme-stack of
// scripts/test-peers/fixture-stack: its container.sh, docker and repo stand-ins and build
// scripts print what the real ones print, failures included. The commands go through the
// builders, the runner and the parsers, and the state is read back from the tree they leave.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BuildTracker } from '../../../core/stack/build-progress';
import {
  bootCommand,
  buildAllArgv,
  containerBuildCommand,
  inContainerCommand,
  listBuildComponents,
  repoInitArgv,
  repoSyncArgv,
  rmmRebuildArgvs,
  type CommandSpec,
} from '../../../core/stack/commands';
import { locateFvp } from '../../../core/stack/fvp';
import { fvpBinaryName, stackLayout, type StackLayout } from '../../../core/stack/layout';
import { checkDocker } from '../../../core/stack/prerequisites';
import { BootTracker, RepoSyncTracker } from '../../../core/stack/progress';
import { startCommand, type RunResult } from '../../../core/stack/runner';
import { detectBuild, detectContainer, detectDownload } from '../../../core/stack/state';

type Fixture = Awaited<ReturnType<typeof loadFixture>>;
const loadFixture = () => import('../../../../scripts/test-peers/fixture-stack/index.mjs');

const temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'cca-fixture-steps-'));
after(() => fs.rmSync(temporary, { recursive: true, force: true }));

// The user the commands run as in the container, which the docker stand-in checks. container.sh
// reads CCA_FIXTURE_EUID in place of EUID, so these tests pass as root too.
const user = { uid: 1000, gid: 1000 };

describe('stack steps on the fixture', () => {
  let stack: ReturnType<Fixture['createFixtureStack']>;
  let layout: StackLayout;
  let docker: string;

  before(async () => {
    const fixture = await loadFixture();
    stack = fixture.createFixtureStack(path.join(temporary, 'fixture'));
    layout = stackLayout(stack.stackDir);
    docker = path.join(stack.binDir, 'docker');
  });

  /** Runs a command with the fixture's bin/ first in PATH; returns its result and lines. */
  async function run(
    spec: CommandSpec,
    env: Record<string, string | undefined> = {},
  ): Promise<{ result: RunResult; lines: string[] }> {
    const lines: string[] = [];
    const running = startCommand(
      { ...spec, env: { ...spec.env, PATH: stack.env().PATH, CCA_FIXTURE_EUID: '1000', ...env } },
      { logFile: path.join(layout.logDir, 'steps.log'), onLine: (line) => lines.push(line) },
    );
    return { result: await running.exited, lines };
  }

  const inContainer = (argv: string[]): CommandSpec =>
    inContainerCommand({ docker, image: stack.image, stackRoot: layout.root, argv, user });

  test('engine down', async () => {
    const result = await checkDocker(docker, {
      env: stack.env({ CCA_FIXTURE_DOCKER_ENGINE: 'down' }),
    });
    assert.equal(result.ok, false);
    assert.match(result.detail, /Cannot connect to the Docker daemon/);
  });

  test('container image', async () => {
    assert.equal((await detectContainer(docker, stack.image)).state, 'notDone');

    const spec = containerBuildCommand({ dockerRepo: stack.dockerRepoDir, image: stack.image });
    const asRoot = await run(spec, { CCA_FIXTURE_EUID: '0' });
    assert.equal(asRoot.result.code, 1);
    assert.ok(asRoot.lines.includes('Error: Executing with root permissions is not allowed.'));

    const built = await run(spec);
    assert.equal(built.result.code, 0);
    assert.deepEqual(await detectContainer(docker, stack.image), {
      state: 'done',
      reason: `image ${stack.image} exists`,
    });
  });

  test('download, interrupted then resumed', async () => {
    const init = await run(
      inContainer(
        repoInitArgv({ manifestUrl: stack.manifestUrl, manifest: stack.manifest, tag: stack.tag }),
      ),
    );
    assert.equal(init.result.code, 0);
    assert.ok(init.lines.includes(`repo has been initialized in ${layout.root}`));
    assert.match((await detectDownload(layout)).reason ?? '', /^partial sync: 10 of 10 projects/);

    const failed = new RepoSyncTracker();
    const first = await run(inContainer(repoSyncArgv(4)), { CCA_FIXTURE_REPO_FAIL_AFTER: '3' });
    for (const line of first.lines) failed.push(line);
    assert.equal(first.result.code, 1);
    assert.equal(failed.succeeded, false);
    assert.equal(failed.failedProjects.size, 7);
    assert.match(failed.failureSummary() ?? '', /^Unable to fully sync the tree\. \(failed: /);
    const partial = await detectDownload(layout);
    assert.equal(partial.state, 'notDone');
    assert.match(partial.reason ?? '', /^partial sync: 7 of 10 projects missing/);

    const resumed = new RepoSyncTracker();
    const second = await run(inContainer(repoSyncArgv(4)));
    for (const line of second.lines) resumed.push(line);
    assert.equal(second.result.code, 0);
    assert.equal(resumed.succeeded, true);
    assert.deepEqual(resumed.progress, {
      phase: 'Checking out',
      percent: 100,
      done: 10,
      total: 10,
      finished: true,
    });
    assert.deepEqual(await detectDownload(layout), {
      state: 'done',
      reason: '10 projects checked out',
    });
  });

  test('build, RMM error, RMM rebuild', async () => {
    const components = await listBuildComponents(layout);
    assert.deepEqual(components, [
      'hafnium',
      'rmm',
      'tf-a',
      'linux',
      'kvm-unit-tests',
      'buildroot',
    ]);

    const all = new BuildTracker(layout.root, { components, command: 'all' });
    const built = await run(inContainer(buildAllArgv(layout, 'all')));
    for (const line of built.lines) all.push(line);
    assert.equal(built.result.code, 0, built.lines.slice(-20).join('\n'));
    assert.equal(all.percent(), 100);
    assert.equal(all.firstError(), undefined);
    assert.equal((await detectBuild(layout)).state, 'done');

    // A syntax error in handler.c: the RMM build fails with gcc's message, and fip.bin is
    // older than the source now.
    const source = fs.readFileSync(layout.handlerFile, 'utf8');
    fs.writeFileSync(layout.handlerFile, `${source}\nint broken(void) { return 1 }\n`);
    const [rmmBuild, ...packaging] = rmmRebuildArgvs(layout);
    const failing = new BuildTracker(layout.root);
    const failed = await run(inContainer(rmmBuild));
    for (const line of failed.lines) failing.push(line);
    assert.notEqual(failed.result.code, 0);
    assert.match(failing.firstError() ?? '', new RegExp(`^${layout.handlerFile}:\\d+: `));
    assert.deepEqual(await detectBuild(layout), {
      state: 'outOfDate',
      reason: 'rmm/runtime/core/handler.c changed after fip.bin was built',
    });

    fs.writeFileSync(layout.handlerFile, `${source}\n/* edited */\n`);
    for (const argv of [rmmBuild, ...packaging]) {
      const step = await run(inContainer(argv));
      assert.equal(step.result.code, 0, `${argv.join(' ')}\n${step.lines.slice(-20).join('\n')}`);
    }
    assert.equal((await detectBuild(layout)).state, 'done');
  });

  test('second build hits the kernel patch', async () => {
    const tracker = new BuildTracker(layout.root);
    const again = await run(inContainer(buildAllArgv(layout, 'build')));
    for (const line of again.lines) tracker.push(line);
    assert.equal(again.result.code, 1);
    assert.match(
      tracker.firstError() ?? '',
      /^patch failed: arch\/arm64\/Kconfig:\d+ \(the kernel/,
    );
    const failedStep = tracker.diagnostics.find((d) => d.message === 'build of linux failed');
    assert.ok(failedStep, 'the banner names the failed component');
  });

  test('literal tilde in MODEL', async () => {
    // boot.sh checks MODEL as given, so an unexpanded `~` fails before the FVP starts.
    const tracker = new BootTracker();
    const spec = bootCommand(layout, 'shell', { name: 'MODEL', value: stack.fvpBinary });
    const literal = `~/fvp/${fvpBinaryName}`;
    const boot = await run({ ...spec, env: { ...spec.env, MODEL: literal } });
    for (const line of boot.lines) tracker.push(line);
    assert.equal(boot.result.code, 1);
    assert.match(tracker.errors[0] ?? '', /^you should set variable MODEL to point to a valid FVP/);

    const located = await locateFvp({ env: { MODEL: literal }, home: stack.dir });
    assert.equal(located.binary, stack.fvpBinary);
  });

  test('step log has every run', () => {
    const log = fs.readFileSync(path.join(layout.logDir, 'steps.log'), 'utf8');
    assert.match(log, /container\.sh -i aemfvp-builder build/);
    assert.match(log, /repo sync -c -j 4 --fetch-submodules --force-sync --no-clone-bundle/);
    assert.match(log, /Fetching: 100% \(10\/10\)/);
  });
});
