/// <reference types="mocha" />
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { FixtureStack } from '../../../scripts/test-peers/fixture-stack/index.mjs' with {
  'resolution-mode': 'import',
};

interface FixtureModule {
  createFixtureStack(dir: string): FixtureStack;
}

type StepState = 'notDone' | 'running' | 'done' | 'failed' | 'outOfDate';
interface StackState {
  steps: Record<
    string,
    { state: StepState; lastError?: string; logFile?: string; durationMs?: number }
  >;
  realms: { profile: string; state: string; guestName?: string }[];
  prerequisites?: { id: string; ok: boolean; detail: string; fix?: string }[];
}

// The compiled test is out/test/integration/; the repository is three folders up.
const repositoryRoot = path.resolve(__dirname, '..', '..', '..');

async function state(): Promise<StackState> {
  const result = await vscode.commands.executeCommand<StackState>('ccaRealmStudio.stack.state');
  assert.ok(result, 'ccaRealmStudio.stack.state returned the state');
  return result;
}

async function stepState(step: string): Promise<StepState> {
  return (await state()).steps[step]?.state ?? 'notDone';
}

function run(command: string, ...args: unknown[]): Thenable<unknown> {
  return vscode.commands.executeCommand(`ccaRealmStudio.stack.${command}`, ...args);
}

/** Returns whether a process runs, from /proc. */
function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

describe('Stack lifecycle on the fixture stack', function (this: Mocha.Suite) {
  this.timeout(300_000);
  let fixture: FixtureStack;
  let folder: string;
  const savedEnv = { ...process.env };

  before(async () => {
    const module = (await import(
      path.join(repositoryRoot, 'scripts', 'test-peers', 'fixture-stack', 'index.mjs')
    )) as FixtureModule;
    folder = mkdtempSync(path.join(os.tmpdir(), 'cca-stack-'));
    fixture = module.createFixtureStack(folder);
    for (const overlay of ['realm', 'normal_world']) {
      mkdirSync(path.join(folder, overlay));
      writeFileSync(path.join(folder, overlay, `${overlay}.txt`), `${overlay} overlay\n`);
    }
    // The extension host is this process: the steps' commands inherit this environment. The
    // fixture's container.sh checks CCA_FIXTURE_EUID instead of the real (root) user ID.
    Object.assign(process.env, fixture.env({ CCA_FIXTURE_EUID: '1000' }));
    delete process.env.DISPLAY;
    const config = vscode.workspace.getConfiguration('ccaRealmStudio.stack');
    const settings: Record<string, unknown> = {
      root: fixture.stackDir,
      dockerRepo: fixture.dockerRepoDir,
      docker: path.join(fixture.binDir, 'docker'),
      manifestUrl: fixture.manifestUrl,
      fvpDir: fixture.fvpDir,
      shareDir: path.join(folder, 'shared_with_fvp'),
      realmOverlay: path.join(folder, 'realm'),
      normalWorldOverlay: path.join(folder, 'normal_world'),
      containerUser: '1000:1000',
      minFreeDiskGB: 0.001,
      jobs: 2,
    };
    for (const [key, value] of Object.entries(settings)) {
      await config.update(key, value, vscode.ConfigurationTarget.Workspace);
    }
    await vscode.commands.executeCommand('ccaRealmStudio.setConsolePassword', 'root');
  });

  after(async () => {
    await run('stop');
    for (const terminal of vscode.window.terminals) terminal.dispose();
    process.env = savedEnv;
    rmSync(folder, { recursive: true, force: true });
  });

  it('prerequisites list each check with its fix', async () => {
    await run('checkPrerequisites');
    const { prerequisites, steps } = await state();
    assert.ok(prerequisites);
    const byId = new Map(prerequisites.map((check) => [check.id, check]));
    assert.equal(byId.get('docker')?.ok, true, byId.get('docker')?.detail);
    assert.equal(byId.get('fvp')?.ok, true, byId.get('fvp')?.detail);
    assert.equal(byId.get('repo')?.ok, true, byId.get('repo')?.detail);
    // The tests run as root, which Arm's container.sh rejects, and the check reports it.
    assert.equal(byId.get('user')?.ok, process.getuid?.() !== 0);
    assert.equal(steps.prerequisites?.state, process.getuid?.() === 0 ? 'failed' : 'done');
  });

  it('builds the container image', async () => {
    assert.equal(await stepState('container'), 'notDone');
    await run('buildContainer');
    assert.equal(await stepState('container'), 'done');
  });

  it('a failed download shows its error and a rerun resumes it', async () => {
    process.env.CCA_FIXTURE_REPO_FAIL_AFTER = '3';
    await run('download');
    let current = await state();
    assert.equal(current.steps.download?.state, 'failed');
    assert.match(current.steps.download?.lastError ?? '', /Unable to fully sync|Cannot fetch/);
    const logFile = current.steps.download?.logFile;
    assert.ok(logFile, 'the failed download has a log file');
    assert.ok(existsSync(logFile));

    delete process.env.CCA_FIXTURE_REPO_FAIL_AFTER;
    await run('download');
    current = await state();
    assert.equal(current.steps.download?.state, 'done', current.steps.download?.lastError);
    assert.ok(existsSync(path.join(fixture.stackDir, '.repo', 'project.list')));
  });

  it('modifications apply once, and undo restores the files', async () => {
    const linux = path.join(fixture.stackDir, 'build-scripts', 'build-linux.sh');
    const original = readFileSync(linux, 'utf8');
    assert.equal(await stepState('modifications'), 'notDone');

    await run('applyModifications', { apply: true });
    assert.equal(await stepState('modifications'), 'done');
    const applied = readFileSync(linux, 'utf8');
    assert.doesNotMatch(applied, /git apply .*\$LINUX_CMD_LINE_EXTEND_PATCH/);
    const runModel = path.join(fixture.stackDir, 'model-scripts', 'aemfvp-a-rme', 'run_model.sh');
    assert.match(readFileSync(runModel, 'utf8'), /bp\.virtiop9device\.root_path=/);

    // A second run changes nothing.
    const before = statSync(linux).mtimeMs;
    await run('applyModifications', { apply: true });
    assert.equal(statSync(linux).mtimeMs, before);

    await run('undoModifications');
    assert.equal(readFileSync(linux, 'utf8'), original);
    assert.equal(await stepState('modifications'), 'notDone');
    await run('applyModifications', { apply: true });
    assert.equal(await stepState('modifications'), 'done');
  });

  it('builds the stack, and a handler.c edit makes it out of date', async () => {
    await run('build', { kind: 'all' });
    const current = await state();
    assert.equal(current.steps.build?.state, 'done', current.steps.build?.lastError);
    const fip = path.join(fixture.stackDir, 'output', 'aemfvp-a-rme', 'fip.bin');
    assert.ok(existsSync(fip));

    const handler = path.join(fixture.stackDir, 'rmm', 'runtime', 'core', 'handler.c');
    const later = new Date(Date.now() + 5_000);
    utimesSync(handler, later, later);
    assert.equal(await stepState('build'), 'outOfDate');
  });

  it('a compiler error fails the RMM rebuild with a problem on handler.c', async () => {
    const handler = path.join(fixture.stackDir, 'rmm', 'runtime', 'core', 'handler.c');
    const good = readFileSync(handler, 'utf8');
    writeFileSync(handler, good.replace(/HANDLER\(VERSION,/, 'HANDLER(VERSION,,'));
    await run('rebuildRmm');
    const current = await state();
    assert.equal(current.steps.build?.state, 'failed');
    const deadline = Date.now() + 10_000;
    let problems: vscode.Diagnostic[] = [];
    while (problems.length === 0 && Date.now() < deadline) {
      problems = vscode.languages.getDiagnostics(vscode.Uri.file(handler));
      if (problems.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(problems.some((problem) => problem.severity === vscode.DiagnosticSeverity.Error));

    writeFileSync(handler, good);
    await run('rebuildRmm');
    assert.equal(await stepState('build'), 'done');
  });

  it('boots the FVP, opens its consoles and starts a realm', async () => {
    await run('boot', 'shell');
    assert.equal(await stepState('boot'), 'running');
    const record = JSON.parse(
      readFileSync(path.join(fixture.stackDir, '.cca', 'processes', 'boot.json'), 'utf8'),
    ) as { pid: number };
    assert.ok(alive(record.pid));

    // A kvmtool without the CCA patches: the step fails with the reason.
    const noRealm = path.join(folder, 'shared_with_fvp', 'lkvm-no-realm');
    writeFileSync(noRealm, '');
    await run('createRealm', { name: 'guide', memoryMb: 300 });
    let current = await state();
    assert.equal(current.steps.realm?.state, 'failed');
    assert.match(current.steps.realm?.lastError ?? '', /realm/i);
    assert.equal(current.realms.at(-1)?.state, 'failed');
    rmSync(noRealm);

    await run('createRealm', { name: 'guide', memoryMb: 300 });
    current = await state();
    assert.equal(current.steps.realm?.state, 'running', current.steps.realm?.lastError);
    assert.equal(current.realms.at(-1)?.state, 'running');
  });

  it('starts the inference service in the realm', async () => {
    // The stand-in realm sees the share at /root/shared_with_realm: the model and labels go there.
    const share = path.join(folder, 'shared_with_fvp');
    const inference = vscode.workspace.getConfiguration('ccaRealmStudio.inference');
    copyFileSync(inference.get<string>('model', ''), path.join(share, 'model.tflite'));
    copyFileSync(inference.get<string>('labels', ''), path.join(share, 'labels.txt'));
    const config = vscode.workspace.getConfiguration('ccaRealmStudio.stack');
    const target = vscode.ConfigurationTarget.Workspace;
    await config.update('realmModel', '/root/shared_with_realm/model.tflite', target);
    await config.update('realmLabels', '/root/shared_with_realm/labels.txt', target);
    // The service script as the realm overlay would install it; here it comes through the share.
    copyFileSync(
      path.join(repositoryRoot, 'realm', 'cca-inference-service.sh'),
      path.join(share, 'cca-inference-service.sh'),
    );
    await config.update(
      'serviceScript',
      '/root/shared_with_realm/cca-inference-service.sh',
      target,
    );

    await run('startInference', { imageCount: 3 });
    const current = await state();
    assert.equal(current.steps.inference?.state, 'running', current.steps.inference?.lastError);
  });

  it('stops the realm and the FVP, leaving nothing running', async () => {
    const recordFile = path.join(fixture.stackDir, '.cca', 'processes', 'boot.json');
    const { pid } = JSON.parse(readFileSync(recordFile, 'utf8')) as { pid: number };
    await run('stop');
    assert.equal(alive(pid), false);
    assert.equal(existsSync(recordFile), false);
    const current = await state();
    assert.equal(current.steps.boot?.state, 'notDone');
    assert.equal(current.steps.realm?.state, 'notDone');
  });
});
