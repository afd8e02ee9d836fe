// Runs the TextMate grammar tests on the samples in extension/test/grammar/*.rmm-log:
// vscode-tmgrammar-snap compares each sample's tokens with its committed `.snap` file, and
// vscode-tmgrammar-test checks the `^` scope assertions in the samples. Exits non-zero when
// either fails or when a sample has no snapshot.
//
// Usage: node scripts/grammar-tests.mjs [--update]
//   --update  rewrites every `.snap` file from the current grammar (review the diff before
//             committing it), then runs the assertions.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const grammar = 'syntaxes/rmm-log.tmLanguage.json';
const sampleDir = 'extension/test/grammar';
const update = process.argv.includes('--update');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const names = readdirSync(path.join(root, sampleDir)).sort();
const samples = names
  .filter((name) => name.endsWith('.rmm-log'))
  .map((name) => `${sampleDir}/${name}`);
const problems = [];
if (samples.length === 0) problems.push(`no .rmm-log samples in ${sampleDir}`);

// vscode-tmgrammar-snap would write a missing snapshot and pass, so a missing one fails here.
if (!update) {
  for (const sample of samples) {
    if (!existsSync(path.join(root, `${sample}.snap`))) {
      problems.push(`${sample}.snap is missing: create it with npm run test:grammar -- --update`);
    }
  }
}
for (const name of names.filter((file) => file.endsWith('.snap'))) {
  if (!names.includes(name.slice(0, -'.snap'.length))) {
    problems.push(`${sampleDir}/${name} has no sample: remove it or add its sample`);
  }
}

function run(title, command, args) {
  console.log(`-- ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    problems.push(`${title} failed (exit ${result.status ?? result.signal})`);
  }
}

// Without --update, only samples with a snapshot go to vscode-tmgrammar-snap, because it
// would write the missing ones.
const snapped = update
  ? samples
  : samples.filter((sample) => existsSync(path.join(root, `${sample}.snap`)));
const snapArgs = ['--scope', 'source.rmm-log', '--grammar', grammar, ...snapped];
if (snapped.length > 0) {
  run(
    update ? 'snapshots (updating)' : 'snapshots',
    bin('vscode-tmgrammar-snap'),
    update ? ['--updateSnapshot', ...snapArgs] : snapArgs,
  );
}
if (samples.length > 0) {
  run('scope assertions', bin('vscode-tmgrammar-test'), ['--grammar', grammar, ...samples]);
}

for (const problem of problems) console.log(`FAILED: ${problem}`);
process.exitCode = problems.length === 0 ? 0 : 1;
