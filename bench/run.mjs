// Runs every benchmark in order (`npm run bench`), after compiling to out/ and bundling to
// dist/, and prints how long each took. Arguments pick some of them by name:
// `npm run bench -- console-throughput extension`. Each script prints its machine line, method,
// figures and the targets it checks; docs/benchmarks.md explains them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { root } from './lib.mjs';

const scripts = [
  ['protocol-overhead', 'Figure 1: protocol overhead per image'],
  ['emulated-realm', 'Figure 2: emulated realm per model'],
  ['batch-throughput', 'Figure 3: batch throughput and memory'],
  ['console-throughput', 'Figure 4: console throughput and memory'],
  ['extension', 'Figure 5: activation, bundle size, language server'],
];

/** Runs a command from the repository root with the output shown; throws unless it exits 0. */
async function run(command, args) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
  const [code, signal] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${[command, ...args].join(' ')} failed (${code ?? signal})`);
}

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(0)} s`;
const selected = process.argv.slice(2);
const unknown = selected.filter((name) => !scripts.some(([script]) => script === name));
if (unknown.length > 0) {
  console.error(
    `Unknown benchmark ${unknown.join(', ')}; choose from ${scripts.map(([name]) => name).join(', ')}`,
  );
  process.exit(2);
}

const started = performance.now();
await run(process.execPath, [
  path.join(root, 'node_modules/typescript/bin/tsc'),
  '-p',
  'tsconfig.json',
]);
await run(process.execPath, [path.join(root, 'scripts/build.mjs'), '--quiet']);
console.log(`built in ${seconds(started)}`);

const durations = [];
for (const [name, title] of scripts) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  console.log(`\n=== ${title} (bench/${name}.mjs) ===`);
  const scriptStarted = performance.now();
  // --expose-gc lets the memory figures read the live heap after a full collection.
  await run(process.execPath, ['--expose-gc', path.join(import.meta.dirname, `${name}.mjs`)]);
  durations.push(`${name} ${seconds(scriptStarted)}`);
}
console.log(`\nbenchmarks took ${seconds(started)} in all: ${durations.join(', ')}`);
