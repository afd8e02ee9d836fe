// Runs every check of `npm test` in order and ends with one line `N passed, N failed`.
// The checks are formatting, ESLint, the grammar tests (scripts/grammar-tests.mjs), the
// TypeScript compile, the bundle, the setup of the test peers, and the unit and peer tests with
// Node's built-in runner. Then come the VS Code tests in code-server (scripts/vscode-test/):
// setup, integration and end to end. Each static check and each setup count as one test.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runNodeTests } from './node-tests.mjs';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;
let interrupted; // the signal that stopped a VS Code test runner

function check(title, command, args) {
  console.log(`\n== ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status === 0) {
    passed += 1;
    return true;
  }
  failed += 1;
  console.log(`FAILED: ${title} (exit ${result.status ?? result.signal})`);
  return false;
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith('.test.js'))
    .map((name) => path.join(dir, name))
    .sort();
}

async function runUnitTests(files) {
  console.log(`\n== unit tests (${files.length} files)`);
  const counts = await runNodeTests(files, { concurrency: 2, timeout: 10 * 60_000 });
  passed += counts.passed;
  failed += counts.failed;
}

/**
 * Runs a Node script whose last output line is `N passed, N failed`, shows its output, and
 * returns those counts.
 */
async function runCountedScript(title, script) {
  console.log(`\n== ${title}`);
  const child = spawn(process.execPath, [script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let counts;
  let pending = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const match = /^(\d+) passed, (\d+) failed$/.exec(line.trim());
      if (match) counts = { passed: Number(match[1]), failed: Number(match[2]) };
    }
  });
  // On Ctrl+C or SIGTERM the runner stops code-server and removes its folders before it exits,
  // so this process waits for it instead of dying first and breaking the runner's stdout.
  const forward = (received) => {
    interrupted = received;
    child.kill(received);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code, signal] = await once(child, 'close');
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (!counts) {
    console.log(`FAILED: ${title} printed no count line (exit ${code ?? signal})`);
    return { passed: 0, failed: 1 };
  }
  if (code !== 0 && counts.failed === 0) return { ...counts, failed: 1 };
  return counts;
}

// Tests read models and images from the data folder. Without CCA_DATA_DIR they use the copy
// beside the clone, so a developer checkout needs no variable.
if (!process.env.CCA_DATA_DIR) {
  const beside = path.resolve(root, '..', 'shared', 'data');
  if (existsSync(beside)) process.env.CCA_DATA_DIR = beside;
}

check('format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
check('lint (eslint)', bin('eslint'), ['--max-warnings', '0', '.']);
check('grammar snapshots and scope assertions (vscode-tmgrammar-test)', process.execPath, [
  'scripts/grammar-tests.mjs',
]);
const compiled = check('compile (tsc)', bin('tsc'), ['-p', 'tsconfig.json']);
check('bundle (esbuild)', process.execPath, ['scripts/build.mjs', '--quiet']);
// The test peers (a QEMU board and telnet servers, scripts/test-peers/) are set up before the
// unit tests, because the tests in out/test/peers/ run with them.
check('setup of the test peers', process.execPath, ['scripts/test-peers/setup.mjs']);
if (compiled) {
  const testDir = path.join(root, 'out', 'test');
  await runUnitTests([
    ...findTests(path.join(testDir, 'unit')),
    ...findTests(path.join(testDir, 'peers')),
  ]);
} else {
  console.log('\nFAILED: unit tests: not run, because the compile failed');
  failed += 1;
}

// The VS Code runners run in their own processes and end with their own count line, which is
// added here. A runner that stops without that line counts as one failure.
const runners = [
  ['integration tests (VS Code extension host)', 'scripts/vscode-test/integration.mjs'],
  ['end-to-end tests (VS Code workbench)', 'scripts/vscode-test/e2e.mjs'],
];
const setUp = check('setup of the VS Code tests', process.execPath, [
  'scripts/vscode-test/setup.mjs',
]);
for (const [title, script] of runners) {
  if (interrupted) break;
  if (!compiled || !setUp) {
    console.log(
      `\nFAILED: ${title}: not run, because ${compiled ? 'the setup' : 'the compile'} failed`,
    );
    failed += 1;
    continue;
  }
  const counts = await runCountedScript(title, script);
  passed += counts.passed;
  failed += counts.failed;
}

if (interrupted) {
  console.log(`\n${interrupted}: stopped before the last tests`);
  failed += 1;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
