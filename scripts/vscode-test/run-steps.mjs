// Shared parts of the integration and end-to-end runners: cleanup that also runs on Ctrl+C,
// the checks that the compiled tests and the bundle exist, and the closing count line.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repositoryRoot } from './paths.mjs';

/**
 * Cleanup actions, run last-registered first, once: at the end of the run or on SIGINT or
 * SIGTERM, since code-server runs in its own process group and would outlive this runner.
 */
export class Cleanup {
  #actions = [];
  #running;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.once(signal, () => {
        console.error(`\n${signal}: stopping code-server and removing the run's folders`);
        void this.run().finally(() => process.exit(128 + os.constants.signals[signal]));
      });
    }
  }

  add(action) {
    this.#actions.push(action);
  }

  run() {
    this.#running ??= (async () => {
      for (const action of this.#actions.reverse()) {
        try {
          await action();
        } catch (error) {
          console.error(`cleanup failed: ${error.message}`);
        }
      }
    })();
    return this.#running;
  }
}

/** Throws unless the bundle named by package.json "main" and `compiledFile` exist. */
export function checkBuilt(compiledFile) {
  const manifest = JSON.parse(readFileSync(path.join(repositoryRoot, 'package.json'), 'utf8'));
  if (manifest.main && !existsSync(path.join(repositoryRoot, manifest.main))) {
    throw new Error(`${manifest.main} not found: run \`node scripts/build.mjs\` first`);
  }
  if (!existsSync(compiledFile)) {
    const relative = path.relative(repositoryRoot, compiledFile);
    throw new Error(`${relative} not found: run \`npx tsc -p tsconfig.json\` first`);
  }
}

/**
 * Runs a command from the repository root and throws unless it exits with 0. Its output is
 * shown only when it fails, since the tools it runs (esbuild, vsce) list every file they write.
 */
export async function runCommand(command, args) {
  const child = spawn(command, args, { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const [code, signal] = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (...result) => resolve(result));
  });
  if (code !== 0) {
    const commandLine = [command, ...args].join(' ');
    throw new Error(`\`${commandLine}\` failed (exit ${code ?? signal}):\n${output.trim()}`);
  }
}

export function seconds(startedAt) {
  return `${((performance.now() - startedAt) / 1000).toFixed(1)} s`;
}

/** Prints the closing line that scripts/test.mjs reads, and sets the exit code. */
export function finish({ passed, failed }) {
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}
