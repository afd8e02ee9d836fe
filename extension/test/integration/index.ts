// Test index for the extension host: VS Code's test runner requires this file (CommonJS) and
// calls run(). It runs every `*.test.js` under this folder with mocha and prints
// `N passed, N failed` last, which scripts/vscode-test/integration.mjs reads.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

const TEST_TIMEOUT_MS = 60_000;

/** Runs the integration tests, and rejects when a test or hook failed or none was found. */
export function run(): Promise<void> {
  return runMochaTests(__dirname);
}

/** Runs every `*.test.js` under `folder` with mocha and prints `N passed, N failed` last. */
export async function runMochaTests(folder: string): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: TEST_TIMEOUT_MS });
  const files = readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.test.js'))
    .sort();
  for (const name of files) mocha.addFile(path.join(folder, name));

  let passed = 0;
  let failed = 0;
  await new Promise<void>((resolve, reject) => {
    try {
      // 'fail' also fires for a failed hook, which counts as a failure of its own.
      mocha
        .run(() => resolve())
        .on('pass', () => (passed += 1))
        .on('fail', () => (failed += 1));
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });

  if (files.length === 0) failed += 1;
  console.log(`${passed} passed, ${failed} failed`);
  if (files.length === 0) throw new Error(`no *.test.js files found in ${folder}`);
  if (failed > 0) throw new Error(`${failed} integration tests failed`);
}
