// Property tests of the FVP's port lines and the map of ports read from its output.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FvpPortMap, parseFvpPortLine } from '../../../core/telnet/fvp-ports';

// The line's shape as a plain pattern, the reference for short lines.
const referencePattern = /([A-Za-z_][\w.]*): Listening for serial connection on port (\d+)\b/;

function parseWithReference(line: string): { terminal: string; port: number } | undefined {
  const match = referencePattern.exec(line);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port < 1 || port > 65535 ? undefined : { terminal: match[1], port };
}

const terminal = fc.stringMatching(/^[A-Za-z_][\w.]{0,20}$/);
const port = fc.integer({ min: 1, max: 65535 });

/** Text around a port line: Shrinkwrap tags, timestamps, other words. */
const noise = fc.oneof(
  fc.constantFrom('', '[       fvp ] ', '  ', '12:00:01 ', 'x9.', '9', '.'),
  fc.stringMatching(/^[ -~]{0,12}$/),
);

describe('FVP port line properties', () => {
  test('agrees with the plain pattern', () => {
    const piece = fc.oneof(
      noise,
      terminal,
      fc.constant(': Listening for serial connection on port '),
      port.map(String),
      fc.constantFrom('0', '70000', '5000x', ' ', '\r'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const line = pieces.join('');
        assert.deepEqual(parseFvpPortLine(line), parseWithReference(line), JSON.stringify(line));
      }),
      { numRuns: 5000 },
    );
  });

  test('a port line with any prefix reads back', () => {
    fc.assert(
      fc.property(noise, terminal, port, fc.boolean(), (prefix, name, number, crlf) => {
        const separated = prefix === '' || /[^\w.]$/.test(prefix) ? prefix : `${prefix} `;
        const line =
          `${separated}${name}: Listening for serial connection on port ${number}` +
          (crlf ? '\r' : '');
        assert.deepEqual(parseFvpPortLine(line), { terminal: name, port: number });
      }),
      { numRuns: 2000 },
    );
  });

  test('long lines are read in linear time', () => {
    // 100,000 characters take seconds with a pattern that tries a name at every character.
    const long = 100_000;
    for (const line of ['a'.repeat(long), 'a.'.repeat(long / 2), `${'a'.repeat(long)}: x`]) {
      const started = performance.now();
      assert.equal(parseFvpPortLine(line), undefined);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 200, `${line.slice(0, 10)}… took ${Math.round(elapsed)} ms`);
    }
  });

  test('the map does not depend on chunk boundaries', () => {
    const line = fc.oneof(
      fc
        .tuple(terminal, port)
        .map(([name, number]) => `${name}: Listening for serial connection on port ${number}`),
      fc.stringMatching(/^[ -~]{0,60}$/),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lines, cuts) => {
          const text = lines.map((l) => `${l}\n`).join('');
          const whole = new FvpPortMap();
          whole.push(text);
          const chunked = new FvpPortMap();
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let previous = 0;
          for (const point of [...points, text.length]) {
            chunked.push(text.slice(previous, point));
            previous = point;
          }
          assert.deepEqual(chunked.entries(), whole.entries());
          // The last line for a terminal wins.
          const expected = new Map<string, number>();
          for (const l of lines) {
            const parsed = parseFvpPortLine(l);
            if (parsed) expected.set(parsed.terminal, parsed.port);
          }
          assert.deepEqual(
            whole.entries(),
            [...expected].map(([name, number]) => ({ terminal: name, port: number })),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
