// Runs every check of `npm test` in order and ends with one line `N passed, N failed`:
// formatting, ESLint, the TypeScript compile, the bundle, then the unit tests with Node's
// built-in runner. Each static check counts as one test.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;

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
  const stream = run({ files, concurrency: 2, timeout: 10 * 60_000 });
  stream.on('test:pass', (event) => {
    if (event.details?.type !== 'suite') passed += 1;
  });
  stream.on('test:fail', (event) => {
    if (event.details?.type !== 'suite') failed += 1;
  });
  // Wait for the reporter, not the event stream, so that the summary line comes last.
  const reporter = stream.compose(spec);
  reporter.pipe(process.stdout, { end: false });
  await once(reporter, 'end');
}

// Tests read models and images from the data folder. Without CCA_DATA_DIR they use the copy
// beside the clone, so a developer checkout needs no variable.
if (!process.env.CCA_DATA_DIR) {
  const beside = path.resolve(root, '..', 'shared', 'data');
  if (existsSync(beside)) process.env.CCA_DATA_DIR = beside;
}

check('format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
check('lint (eslint)', bin('eslint'), ['--max-warnings', '0', '.']);
const compiled = check('compile (tsc)', bin('tsc'), ['-p', 'tsconfig.json']);
check('bundle (esbuild)', process.execPath, ['scripts/build.mjs', '--quiet']);
if (compiled) await runUnitTests(findTests(path.join(root, 'out', 'test')));

console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
