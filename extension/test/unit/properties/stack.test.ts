// Property tests of the stack steps' output parsers and of the shell words used for console lines.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BuildTracker } from '../../../core/stack/build-progress';
import {
  BootTracker,
  LineSplitter,
  RepoSyncTracker,
  parseRepoLine,
  parseValidateLine,
  type LineKind,
} from '../../../core/stack/progress';
import {
  CONTROL_CHARACTER,
  ShellWordsError,
  parseShellWords,
  renderShellLine,
} from '../../../core/stack/shell-words';

/** Text of one line: no line end and no control character. */
const lineText = (maxLength: number) =>
  fc
    .string({ unit: 'grapheme', maxLength })
    .map((text) => text.replace(new RegExp(CONTROL_CHARACTER.source, 'g'), ''));

function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let previous = 0;
  for (const point of [...points, text.length]) {
    parts.push(text.slice(previous, point));
    previous = point;
  }
  return parts;
}

function splitLines(chunks: string[]): [string, LineKind][] {
  const emitted: [string, LineKind][] = [];
  const splitter = new LineSplitter((line, kind) => emitted.push([line, kind]));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return emitted;
}

/** Arbitrary lines of build tool output, with the characters those tools print. */
const anyLine = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.stringMatching(/^[ -~]{0,120}$/),
);

// Names of processes that no test machine runs, so bash reports them to its handler.
const commandName = fc.oneof(
  fc.constantFrom('if', 'then', 'fi', 'do', 'done', 'case', 'while', 'A=b', 'X='),
  lineText(12).map((text) => `zz${text.replace(/\//g, '')}`),
);

function argvSeenByBash(line: string): string[] {
  // bash calls this function with the name and arguments of a command it cannot find.
  const script = `command_not_found_handle() { printf '%s\\0' "$@"; }\n${line}\n`;
  return execFileSync('bash', ['-c', script]).toString('utf8').split('\0').slice(0, -1);
}

function argvSeenByShell(shell: string[], line: string): string[] {
  // The first word printed marks the start, since printf prints its format once even without
  // arguments.
  const script = `zzprint() { printf '%s\\0' zzprint "$@"; }\n${line}\n`;
  return execFileSync(shell[0], [...shell.slice(1), '-c', script])
    .toString('utf8')
    .split('\0')
    .slice(0, -1);
}

const shells: string[][] = [['sh']];
if (existsSync('/usr/bin/busybox') || existsSync('/bin/busybox')) shells.push(['busybox', 'sh']);

describe('stack output parser properties', () => {
  test('line splitting does not depend on chunk boundaries', () => {
    const segment = fc.tuple(
      lineText(30),
      fc.constantFrom('\n', '\r\n', '\r', '\u001b[2K\r', '\u001b[32m'),
    );
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (segments, cuts) => {
          const text = segments.map(([line, end]) => line + end).join('');
          assert.deepEqual(splitLines(splitAt(text, cuts)), splitLines([text]));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('lines come out without line ends or escapes', () => {
    fc.assert(
      fc.property(fc.array(lineText(30), { maxLength: 8 }), fc.boolean(), (lines, crlf) => {
        const text = lines.map((line) => `\u001b[1m${line}\u001b[0m${crlf ? '\r\n' : '\n'}`);
        const emitted = splitLines([text.join('')]);
        assert.deepEqual(
          emitted,
          lines.map((line) => [line, 'line']),
        );
      }),
      { numRuns: 1000 },
    );
  });

  test('parsers take any line without throwing', () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 10 }), (lines) => {
        const repo = new RepoSyncTracker();
        const boot = new BootTracker();
        const build = new BuildTracker('/stack', { components: ['rmm', 'tf-a'], command: 'all' });
        for (const line of lines) {
          parseRepoLine(line);
          parseValidateLine(line);
          repo.push(line);
          boot.push(line);
          build.push(line);
        }
        const percent = build.percent() ?? 0;
        assert.ok(percent >= 0, `percent ${percent}`);
        assert.ok(percent <= 100, `percent ${percent}`);
        repo.failureSummary();
        build.firstError();
      }),
      { numRuns: 2000 },
    );
  });

  test('long lines are read in linear time', () => {
    const long = 400_000;
    const lines = [
      'a'.repeat(long),
      'a.'.repeat(long / 2),
      ' '.repeat(long),
      '1:'.repeat(long / 2),
      `make: *** [${'x'.repeat(long)}`,
      `Fetching: ${'9'.repeat(long)}`,
    ];
    for (const line of lines) {
      const started = performance.now();
      parseRepoLine(line);
      new BootTracker().push(line);
      new BuildTracker('/stack').push(line);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 1000, `${JSON.stringify(line.slice(0, 20))}… took ${elapsed} ms`);
    }
  });

  test('repo progress reads back', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('Fetching', 'Checking out', 'Fetching projects', 'Syncing'),
        fc.nat(100),
        fc.nat(5000),
        fc.nat(5000),
        fc.boolean(),
        fc.boolean(),
        (phase, percent, a, b, jobs, done) => {
          const [count, total] = a <= b ? [a, b] : [b, a];
          const line =
            `${phase}: ${percent}% ${jobs ? '[4 jobs] ' : ''}(${count}/${total})` +
            (done ? ', done in 1m2.345s' : ' 1:23 | 4 jobs | 0:12 linux @ linux');
          const event = parseRepoLine(line);
          assert.equal(event?.type, 'progress', line);
          if (event?.type !== 'progress') return;
          assert.deepEqual(event.progress, {
            phase,
            percent,
            done: count,
            total,
            finished: done,
          });
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('compiler diagnostics read back with an absolute file', () => {
    const file = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_./ -]{0,30}\.c$/);
    fc.assert(
      fc.property(
        file,
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.constantFrom('error', 'warning'),
        // The blanks after `error:` belong to the separator.
        lineText(60).map((text) => text.replace(/[\u2028\u2029]/g, ' ').trimStart()),
        (name, line, column, severity, message) => {
          const tracker = new BuildTracker('/stack');
          tracker.push("make[1]: Entering directory '/stack/rmm/build'");
          const event = tracker.push(`${name}:${line}:${column}: ${severity}: ${message}`);
          assert.equal(event?.type, 'diagnostic');
          if (event?.type !== 'diagnostic') return;
          assert.equal(event.diagnostic.severity, severity);
          assert.equal(event.diagnostic.line, line);
          assert.equal(event.diagnostic.column, column);
          assert.equal(event.diagnostic.message, message);
          assert.ok(event.diagnostic.file?.startsWith('/'), event.diagnostic.file);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('shell words properties', () => {
  const argument = lineText(20);

  test('parseShellWords inverts renderShellLine', () => {
    fc.assert(
      fc.property(fc.array(argument, { minLength: 1, maxLength: 6 }), (argv) => {
        assert.deepEqual(parseShellWords(renderShellLine(argv)), argv);
      }),
      { numRuns: 2000 },
    );
  });

  test('parseShellWords takes any line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (line) => {
        try {
          const words = parseShellWords(line);
          assert.ok(Array.isArray(words));
        } catch (error) {
          assert.ok(error instanceof ShellWordsError, String(error));
          assert.ok(error.column >= 0, `column ${error.column}`);
          assert.ok(error.column <= line.length, `column ${error.column}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('bash runs the rendered command with the same argv', () => {
    fc.assert(
      fc.property(commandName, fc.array(argument, { maxLength: 4 }), (command, rest) => {
        const argv = [command, ...rest];
        assert.deepEqual(argvSeenByBash(renderShellLine(argv)), argv);
      }),
      { numRuns: 150 },
    );
  });

  for (const shell of shells) {
    test(`${shell.join(' ')} gets the same arguments`, () => {
      fc.assert(
        fc.property(fc.array(argument, { maxLength: 5 }), (rest) => {
          const argv = ['zzprint', ...rest];
          assert.deepEqual(argvSeenByShell(shell, renderShellLine(argv)), argv);
        }),
        { numRuns: 100 },
      );
    });
  }
});
