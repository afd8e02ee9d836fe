import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BootTracker,
  LineSplitter,
  parseRepoLine,
  parseValidateLine,
  RepoSyncTracker,
  stripAnsi,
  type LineKind,
} from '../../../core/stack/progress';

function split(chunks: string[]): [string, LineKind][] {
  const out: [string, LineKind][] = [];
  const splitter = new LineSplitter((line, kind) => out.push([line, kind]));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return out;
}

describe('LineSplitter', () => {
  test('lines and CR LF', () => {
    assert.deepEqual(split(['a\nb\r\nc']), [
      ['a', 'line'],
      ['b', 'line'],
      ['c', 'line'],
    ]);
  });

  test('CR updates with erase codes', () => {
    const text =
      '\rFetching:  7% (1/13)\x1b[K\rFetching: 15% (2/13)\x1b[K\rFetching: 100% (13/13), done in 3.1s\x1b[K\n';
    assert.deepEqual(split([text]), [
      ['Fetching:  7% (1/13)', 'update'],
      ['Fetching: 15% (2/13)', 'update'],
      ['Fetching: 100% (13/13), done in 3.1s', 'line'],
    ]);
  });

  test('CR LF split across chunks', () => {
    assert.deepEqual(split(['one\r', '\ntwo\r', 'three\n']), [
      ['one', 'line'],
      ['two', 'update'],
      ['three', 'line'],
    ]);
  });

  test('trailing CR at the end', () => {
    assert.deepEqual(split(['last\r']), [['last', 'line']]);
  });

  test('ANSI colours removed', () => {
    assert.equal(stripAnsi('\x1b[1;31merror:\x1b[0m bad'), 'error: bad');
  });
});

// repo 2.x output with a terminal: the manifest fetch, the projects' fetch with its redraws,
// then a network failure on one project.
const repoSyncFailure = [
  'Fetching: 100% (1/1), done in 0.812s',
  'Fetching:   0% (0/13) 0:00 | 8 jobs | ',
  'Fetching:  46% (6/13) 0:41 | 7 jobs | 0:38 linux @ linux',
  'error: Cannot fetch linux-arm/linux-cca from https://git.gitlab.arm.com/linux-arm/linux-cca.git',
  'Fetching:  92% (12/13), done in 1m12.031s',
  '',
  'error: Unable to fully sync the tree',
  'error: Downloading network changes failed.',
  'Failing repos (network):',
  'linux',
  'Try re-running with "-j1 --fail-fast" to exit at the first error.',
];

describe('repo sync', () => {
  test('progress line', () => {
    assert.deepEqual(parseRepoLine('Fetching:  46% (6/13) 0:41 | 7 jobs | 0:38 linux @ linux'), {
      type: 'progress',
      progress: { phase: 'Fetching', percent: 46, done: 6, total: 13, finished: false },
    });
    assert.deepEqual(parseRepoLine('Checking out: 100% (13/13), done in 9.402s'), {
      type: 'progress',
      progress: { phase: 'Checking out', percent: 100, done: 13, total: 13, finished: true },
    });
  });

  test('older and job-count forms', () => {
    const older = parseRepoLine('Fetching projects:  45% (27/60)');
    assert.equal(older?.type === 'progress' && older.progress.phase, 'Fetching projects');
    const jobs = parseRepoLine('Syncing:  12% [4 jobs] (7/56) 0:20 | kernel @ linux');
    assert.equal(jobs?.type === 'progress' && jobs.progress.done, 7);
  });

  test('git progress is not repo progress', () => {
    assert.equal(
      parseRepoLine('Receiving objects:  45% (123/456), 1.20 MiB | 3.00 MiB/s'),
      undefined,
    );
  });

  test('failure summary', () => {
    const tracker = new RepoSyncTracker();
    for (const line of repoSyncFailure) tracker.push(line);
    assert.equal(tracker.progress?.phase, 'Fetching');
    assert.equal(tracker.progress?.done, 12);
    assert.equal(tracker.errors.length, 3);
    assert.deepEqual([...tracker.failedProjects].sort(), ['linux', 'linux-arm/linux-cca']);
    assert.equal(tracker.succeeded, false);
    assert.match(tracker.failureSummary() ?? '', /^Unable to fully sync the tree \(failed: /);
    assert.match(tracker.failureSummary() ?? '', /run the download again to resume$/);
  });

  test('success', () => {
    const tracker = new RepoSyncTracker();
    tracker.push('Checking out: 100% (13/13), done in 9.402s');
    tracker.push('repo sync has finished successfully.');
    assert.equal(tracker.succeeded, true);
    assert.equal(tracker.failureSummary(), undefined);
  });

  test('git error forms', () => {
    assert.deepEqual(parseRepoLine('error.GitError: Cannot fetch --force-sync not enabled'), {
      type: 'error',
      message: 'Cannot fetch --force-sync not enabled',
    });
    assert.deepEqual(parseRepoLine('fatal: unable to access the manifest'), {
      type: 'error',
      message: 'unable to access the manifest',
    });
  });
});

describe('boot output', () => {
  test('ports and display errors', () => {
    const tracker = new BootTracker();
    assert.deepEqual(tracker.push('terminal_0: Listening for serial connection on port 5000'), {
      type: 'port',
      terminal: 'terminal_0',
      port: 5000,
    });
    tracker.push('terminal_3: Listening for serial connection on port 5004');
    assert.equal(tracker.ports.get('terminal_3'), 5004);
    assert.equal(
      tracker.push('terminal_0: Listening for serial connection on port 5000'),
      undefined,
    );
    const display = tracker.push("xterm: Xt error: Can't open display: ");
    assert.equal(display?.type, 'displayError');
  });

  test('validate results per world', () => {
    const tracker = new BootTracker();
    const output = [
      'VALIDATE FOUR WORLD BOOT',
      'terminal_0: Listening for serial connection on port 5000',
      '[INFO]: Secure world boot successful',
      '[ERROR]: Realm world boot unsuccessful',
      '[INFO]: Non-Secure world boot successful',
      '[ERROR]: Four world boot unsuccessful',
    ];
    for (const line of output) tracker.push(line);
    assert.deepEqual(
      [...tracker.results.values()].map((r) => [r.world, r.ok]),
      [
        ['secure', true],
        ['realm', false],
        ['normal', true],
        ['all', false],
      ],
    );
    assert.equal(tracker.allWorldsBooted(), false);
    assert.deepEqual(tracker.errors, []);
  });

  test('all worlds booted', () => {
    const tracker = new BootTracker();
    for (const world of ['Secure', 'Realm', 'Non-Secure', 'Four']) {
      tracker.push(`[INFO]: ${world} world boot successful`);
    }
    assert.equal(tracker.allWorldsBooted(), true);
    assert.equal(parseValidateLine('Booting Linux on physical CPU 0x0'), undefined);
    assert.equal(parseValidateLine('INFO:    RMM init end'), undefined);
  });

  test('boot errors', () => {
    const tracker = new BootTracker();
    assert.deepEqual(
      tracker.push('ERROR: you should set variable MODEL to point to a valid FVP model binary.'),
      {
        type: 'error',
        message: 'you should set variable MODEL to point to a valid FVP model binary.',
      },
    );
    tracker.push('[ERROR]: the model exited before the normal world booted');
    assert.equal(tracker.errors.length, 2);
  });
});
