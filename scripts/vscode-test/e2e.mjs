// Runs the end-to-end UI tests: builds and packages the extension as a .vsix, creates the
// fixture rme-stack, installs the .vsix into a new code-server started with the fixture's
// environment, then runs out/test/e2e/*.test.js with Node's test runner. The tests drive the
// workbench in headless Chromium through playwright-core, and read these variables:
//   CCA_E2E_URL          the workbench URL, with the workspace open
//   CCA_E2E_WORKSPACE    the workspace folder (images/, rme-stack/ and .vscode/settings.json)
//   CCA_E2E_STACK        the fixture's stack folder, <workspace>/rme-stack
//   CCA_E2E_SCREENSHOTS  the folder for screenshots, <repo>/.cca/screenshots/
//   CCA_DATA_DIR         the test data folder
// At the end, any process group still recorded under <stack>/.cca/processes/ (the FVP) is
// stopped before code-server, and every folder of the run is removed.
// Each test fails after 10 minutes, or CCA_VSCODE_TEST_TIMEOUT_MS milliseconds. Prints
// `N passed, N failed` last, and exits non-zero on any failure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { runNodeTests } from '../node-tests.mjs';
import { readManifest } from '../test-peers/paths.mjs';
import { startCodeServer, stopProcessTree } from './code-server.mjs';
import { addFixtureStack, createRunFolders } from './fixture.mjs';
import { dataDir, repositoryRoot } from './paths.mjs';
import { Cleanup, checkBuilt, finish, runCommand, seconds } from './run-steps.mjs';

const TIMEOUT_MS = Number(process.env.CCA_VSCODE_TEST_TIMEOUT_MS ?? 10 * 60_000);
const testsDir = path.join(repositoryRoot, 'out', 'test', 'e2e');
const screenshotsDir = path.join(repositoryRoot, '.cca', 'screenshots');

function findTestFiles() {
  if (!existsSync(testsDir)) {
    throw new Error('out/test/e2e/ not found: run `npx tsc -p tsconfig.json` first');
  }
  const files = readdirSync(testsDir)
    .filter((name) => name.endsWith('.test.js'))
    .sort()
    .map((name) => path.join(testsDir, name));
  if (files.length === 0) throw new Error(`no *.test.js files in ${testsDir}`);
  return files;
}

async function packageExtension(vsixPath) {
  let startedAt = performance.now();
  await runCommand(process.execPath, ['scripts/build.mjs', '--quiet']);
  checkBuilt(findTestFiles()[0]);
  console.log(`built dist/ in ${seconds(startedAt)}`);

  startedAt = performance.now();
  // The package is only installed here, so it needs no repository field, and the README's
  // relative links stay as they are.
  const vsce = path.join(repositoryRoot, 'node_modules', '.bin', 'vsce');
  await runCommand(vsce, [
    'package',
    '--no-dependencies',
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
    '--out',
    vsixPath,
  ]);
  console.log(`packaged ${path.basename(vsixPath)} in ${seconds(startedAt)}`);
}

/** Returns the start time of a process in clock ticks after boot, or undefined when it is gone. */
function startTicksOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/**
 * Stops every process group recorded in `<stack>/.cca/processes/` that still runs: the Stack
 * view's Stop should have ended them, so each one left is reported.
 */
async function stopRecordedProcesses(stackDir) {
  const recordsDir = path.join(stackDir, '.cca', 'processes');
  if (!existsSync(recordsDir)) return;
  for (const name of readdirSync(recordsDir).filter((file) => file.endsWith('.json'))) {
    let record;
    try {
      record = JSON.parse(readFileSync(path.join(recordsDir, name), 'utf8'));
    } catch {
      continue; // A record being written or removed at this moment.
    }
    // A PID that a new process reused has another start time.
    if (!record.pgid || startTicksOf(record.pid) !== record.startTicks) continue;
    console.error(`process group ${record.pgid} of ${name} still runs: stopping it`);
    await stopProcessTree(record.pgid);
  }
}

function runTestFiles(files) {
  return runNodeTests(files, { concurrency: 1, timeout: TIMEOUT_MS });
}

async function runEndToEndTests(cleanup) {
  const files = findTestFiles();
  const data = dataDir();
  // The fixture's FVP boots the QEMU board, whose kernel and initramfs setup.mjs builds.
  readManifest();
  const folders = await createRunFolders('e2e', data);
  cleanup.add(folders.remove);
  const stack = await addFixtureStack(folders, data);

  const vsixPath = path.join(folders.root, 'cca-realm-studio.vsix');
  await packageExtension(vsixPath);

  const startedAt = performance.now();
  const server = await startCodeServer({
    workspace: folders.workspace,
    extensionsDir: folders.extensions,
    userDataDir: folders.userData,
    stateDir: folders.state,
    installVsix: vsixPath,
    env: stack.env,
  });
  cleanup.add(server.stop);
  cleanup.add(() => stopRecordedProcesses(stack.stackDir));
  console.log(`code-server ready on ${server.url} in ${seconds(startedAt)}`);

  // Screenshots of an earlier run are removed so that none of them is taken for this run's.
  await rm(screenshotsDir, { recursive: true, force: true });
  await mkdir(screenshotsDir, { recursive: true });

  const workbenchUrl = new URL(server.url);
  workbenchUrl.searchParams.set('folder', folders.workspace);
  Object.assign(process.env, {
    CCA_E2E_URL: workbenchUrl.href,
    CCA_E2E_WORKSPACE: folders.workspace,
    CCA_E2E_STACK: stack.stackDir,
    CCA_E2E_SCREENSHOTS: screenshotsDir,
    CCA_DATA_DIR: data,
  });
  const counts = await runTestFiles(files);
  if (!server.isRunning()) {
    console.error('code-server exited during the tests');
    counts.failed += 1;
  }
  return counts;
}

if (import.meta.filename === process.argv[1]) {
  const startedAt = performance.now();
  const cleanup = new Cleanup();
  let counts;
  try {
    counts = await runEndToEndTests(cleanup);
  } catch (error) {
    console.error(`error: end-to-end tests could not run: ${error.message}`);
    counts = { passed: 0, failed: 1 };
  } finally {
    await cleanup.run();
  }
  console.log(`end-to-end tests took ${seconds(startedAt)}`);
  finish(counts);
}
