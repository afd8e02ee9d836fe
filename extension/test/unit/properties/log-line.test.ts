// Property tests of the RMM console log line parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseRmiLogLine } from '../../../core/rmm/log-line';
import { RMI_COMMANDS_V0_4_0, statusCode } from '../../../core/rmm/rmi-commands';

const statuses = [
  'RMI_SUCCESS',
  'RMI_ERROR_INPUT',
  'RMI_ERROR_REALM',
  'RMI_ERROR_REC',
  'RMI_ERROR_RTT',
  'RMI_ERROR_IN_USE',
];

const hexWord = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const gap = fc.constantFrom(' ', '  ', '\t', ' \t ');

/** Text before the name: empty, a Shrinkwrap tag, or a timestamp; never a name character last. */
const prefix = fc.oneof(
  fc.constant(''),
  fc.constant('[ terminal_3 ] '),
  fc.constant('[     rmm ] '),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((text) => `${text.replace(/[\r\n]/g, ' ')} `),
);

interface CallLine {
  line: string;
  name: string;
  args: bigint[];
  status: string;
  trailing: bigint[];
}

const callLine: fc.Arbitrary<CallLine> = fc
  .record({
    prefix,
    family: fc.constantFrom('SMC_RMM_', 'SMC_RMI_'),
    command: fc.constantFrom(...RMI_COMMANDS_V0_4_0.map((command) => command.name)),
    pad: fc.nat(20),
    args: fc.array(fc.tuple(gap, hexWord, fc.boolean()), { maxLength: 6 }),
    status: fc.constantFrom(...statuses),
    trailing: fc.array(fc.tuple(gap, hexWord, fc.boolean()), { maxLength: 5 }),
    crlf: fc.boolean(),
  })
  .map((parts) => {
    const word = ([space, value, with0x]: [string, bigint, boolean]) =>
      `${space}${with0x ? '0x' : ''}${value.toString(16)}`;
    const name = parts.family + parts.command;
    const line =
      parts.prefix +
      name +
      ' '.repeat(parts.pad) +
      parts.args.map(word).join('') +
      ' > ' +
      parts.status +
      parts.trailing.map(word).join('') +
      (parts.crlf ? '\r' : '');
    return {
      line,
      name,
      args: parts.args.map(([, value]) => value),
      status: parts.status,
      trailing: parts.trailing.map(([, value]) => value),
    };
  });

describe('RMM log line properties', () => {
  test('any line parses without throwing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (line) => {
        const parsed = parseRmiLogLine(line);
        if (parsed === undefined) return;
        assert.ok(line.slice(parsed.nameRange.start, parsed.nameRange.end).startsWith('SMC_RM'));
        assert.equal(line.slice(parsed.separatorRange.start, parsed.separatorRange.end), '>');
      }),
      { numRuns: 3000 },
    );
  });

  test('a printed call reads back with every value', () => {
    fc.assert(
      fc.property(callLine, (call) => {
        const parsed = parseRmiLogLine(call.line);
        assert.ok(parsed, JSON.stringify(call.line));
        assert.equal(parsed.name, call.name);
        assert.deepEqual(
          parsed.args.map((arg) => arg.value),
          call.args,
        );
        assert.equal(parsed.status, call.status);
        assert.equal(parsed.statusCode, statusCode(call.status));

        // TF-RMM prints the error index first after RMI_ERROR_REALM and RMI_ERROR_RTT.
        const withIndex = call.status === 'RMI_ERROR_REALM' || call.status === 'RMI_ERROR_RTT';
        const [first, ...rest] = call.trailing;
        assert.equal(parsed.index?.value, withIndex ? first : undefined);
        assert.deepEqual(
          parsed.outputs.map((output) => output.value),
          withIndex ? rest : call.trailing,
        );
        for (const value of [...parsed.args, ...parsed.outputs]) {
          assert.equal(call.line.slice(value.range.start, value.range.end), value.text);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('a long line is read in linear time', () => {
    const words = ' 8a100000'.repeat(50_000);
    const lines = [
      `SMC_RMM_REC_ENTER${words}`,
      `SMC_RMM_REC_ENTER${words} > RMI_SUCCESS`,
      'SMC_RMM_A 0 '.repeat(50_000),
      'x'.repeat(500_000),
    ];
    for (const line of lines) {
      const started = performance.now();
      parseRmiLogLine(line);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 1000, `${line.slice(0, 30)}… took ${Math.round(elapsed)} ms`);
    }
  });
});
