// Runs test files with Node's test runner, prints the spec report, and counts the tests
// (suites are not counted) for the one summary line of `npm test`.
import { once } from 'node:events';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

export async function runNodeTests(files, { concurrency, timeout }) {
  let passed = 0;
  let failed = 0;
  const stream = run({ files, concurrency, timeout });
  stream.on('test:pass', (event) => {
    if (event.details?.type !== 'suite') passed += 1;
  });
  stream.on('test:fail', (event) => {
    if (event.details?.type !== 'suite') failed += 1;
  });
  // Wait for the reporter, not the event stream, so that its last lines come before ours.
  const reporter = stream.compose(spec);
  reporter.pipe(process.stdout, { end: false });
  await once(reporter, 'end');
  return { passed, failed };
}
