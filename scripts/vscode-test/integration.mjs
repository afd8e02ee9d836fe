// Runs the integration tests (out/test/integration/*.test.js, mocha) inside the extension host
// of a real VS Code: code-server with its smoke-test driver, opened in headless Chromium. The
// workbench loads the repository as the extension under development and calls the test index,
// then reports the host's console through codeAutomationLog and the exit code through
// codeAutomationExit. A run fails after 10 minutes, or CCA_VSCODE_TEST_TIMEOUT_MS milliseconds.
// Prints `N passed, N failed` last, and exits non-zero on any failure.
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { URLSearchParams } from 'node:url';
import { format } from 'node:util';
import { launchChromium, startCodeServer } from './code-server.mjs';
import { createRunFolders } from './fixture.mjs';
import { dataDir, repositoryRoot } from './paths.mjs';
import { Cleanup, checkBuilt, finish, seconds } from './run-steps.mjs';

const TIMEOUT_MS = Number(process.env.CCA_VSCODE_TEST_TIMEOUT_MS ?? 10 * 60_000);
// The tests of a trusted workspace, then those of an untrusted one (restricted mode).
const suites = [
  {
    name: 'trusted',
    testIndex: path.join(repositoryRoot, 'out', 'test', 'integration', 'index.js'),
  },
  {
    name: 'untrusted',
    testIndex: path.join(repositoryRoot, 'out', 'test', 'untrusted', 'index.js'),
    workspaceTrust: true,
  },
];
const COUNT_LINE = /^(\d+) passed, (\d+) failed$/;

/** Returns the workbench URL that runs `testIndex` with the repository as the extension. */
function testWorkbenchUrl(port, workspace, testIndex) {
  const remote = (file) => `vscode-remote://127.0.0.1:${port}${file}`;
  const payload = [
    ['extensionDevelopmentPath', remote(repositoryRoot)],
    ['extensionTestsPath', remote(testIndex)],
    ['skipWelcome', 'true'],
  ];
  const query = new URLSearchParams({ folder: workspace, payload: JSON.stringify(payload) });
  return `http://127.0.0.1:${port}/?${query}`;
}

/**
 * Exposes the smoke-test driver's callbacks on `page`: codeAutomationLog prints each console
 * line and records the last `N passed, N failed`, and codeAutomationExit resolves `exit`.
 */
async function exposeAutomation(page) {
  let resolveExit;
  const automation = {
    counts: undefined,
    exit: new Promise((resolve) => (resolveExit = resolve)),
  };
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit({ kind: 'exit', code }));
  await page.exposeFunction('codeAutomationLog', (_type, args) => {
    // The arguments are those of a console call in the workbench or the extension host,
    // printf-style format string first.
    const text = format(...(Array.isArray(args) ? args : [args]));
    for (const line of text.split('\n')) {
      const match = COUNT_LINE.exec(line.trim());
      if (match) automation.counts = { passed: Number(match[1]), failed: Number(match[2]) };
    }
    console.log(text);
  });
  return automation;
}

/** Returns the counts of a run from how it ended and the count line it printed, if any. */
function countsOf(outcome, counts) {
  const atLeastOneFailure = {
    passed: counts?.passed ?? 0,
    failed: Math.max(1, counts?.failed ?? 0),
  };
  switch (outcome.kind) {
    case 'timeout':
      console.error(`integration tests timed out after ${TIMEOUT_MS} ms`);
      return atLeastOneFailure;
    case 'server-exit':
      console.error(`code-server exited (${outcome.status}) during the integration tests`);
      return atLeastOneFailure;
    case 'exit':
      console.log(`extension host exited with code ${outcome.code}`);
      if (!counts) {
        console.error('the test index printed no `N passed, N failed` line');
        return atLeastOneFailure;
      }
      // An exit code other than 0 with no failed test means the run failed outside a test.
      return outcome.code === 0 ? counts : atLeastOneFailure;
  }
  throw new Error(`unknown outcome ${outcome.kind}`);
}

async function runIntegrationTests(cleanup, { testIndex, workspaceTrust = false }) {
  checkBuilt(testIndex);
  const folders = await createRunFolders('integration', dataDir(), { workspaceTrust });
  cleanup.add(folders.remove);

  const server = await startCodeServer({
    workspace: folders.workspace,
    extensionsDir: folders.extensions,
    userDataDir: folders.userData,
    stateDir: folders.state,
    smokeTestDriver: true,
    workspaceTrust,
  });
  cleanup.add(server.stop);

  const browser = await launchChromium();
  cleanup.add(browser.close);
  const automation = await exposeAutomation(browser.page);

  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), TIMEOUT_MS);
  });
  const serverExit = server.exit.then((status) => ({ kind: 'server-exit', status }));
  try {
    await browser.page.goto(testWorkbenchUrl(server.port, folders.workspace, testIndex));
    const outcome = await Promise.race([automation.exit, timeout, serverExit]);
    return countsOf(outcome, automation.counts);
  } finally {
    clearTimeout(timer);
  }
}

if (import.meta.filename === process.argv[1]) {
  const startedAt = performance.now();
  const counts = { passed: 0, failed: 0 };
  for (const suite of suites) {
    const cleanup = new Cleanup();
    console.log(`\n-- ${suite.name} workspace`);
    try {
      const suiteCounts = await runIntegrationTests(cleanup, suite);
      counts.passed += suiteCounts.passed;
      counts.failed += suiteCounts.failed;
    } catch (error) {
      console.error(`error: ${suite.name} integration tests could not run: ${error.message}`);
      counts.failed += 1;
    } finally {
      await cleanup.run();
    }
  }
  console.log(`integration tests took ${seconds(startedAt)}`);
  finish(counts);
}
