// Property tests of the signalling file's parser and formatter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  formatSignalling,
  parseSignalling,
  type SystemState,
} from '../../../core/protocol/signalling';

const states: SystemState[] = ['processed', 'query', 'finished'];

/** File names the client can write: no line break, no blanks at either end. */
const fileName = fc
  .string({ unit: 'grapheme', maxLength: 80 })
  .map((name) => name.replace(/[\r\n]/g, '_'))
  .filter((name) => name.trim() === name);

/** Lines that carry neither key, such as a realm's or a person's notes. */
const otherLine = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .map((line) => line.replace(/[\r\n]/g, ' '))
  .filter((line) => !/^\s*(systemState|fileName)\s*(:|$)/.test(line));

describe('signalling file properties', () => {
  test('any text parses without throwing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const parsed = parseSignalling(text);
        if (parsed.state !== undefined) assert.ok(states.includes(parsed.state));
        if (parsed.state !== undefined) assert.equal(parsed.rawState, parsed.state);
      }),
      { numRuns: 2000 },
    );
  });

  test('format then parse gives the same values', () => {
    fc.assert(
      fc.property(fc.constantFrom(...states), fileName, (state, name) => {
        const parsed = parseSignalling(formatSignalling(state, name));
        assert.equal(parsed.state, state);
        assert.equal(parsed.fileName, name);
      }),
      { numRuns: 1000 },
    );
  });

  test('CRLF, blanks and other lines change nothing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fileName,
        fc.array(otherLine, { maxLength: 4 }),
        fc.array(otherLine, { maxLength: 4 }),
        fc.boolean(),
        (state, name, before, after, crlf) => {
          const end = crlf ? '\r\n' : '\n';
          const lines = [...before, `  systemState: ${state}  `, ...after, `fileName: ${name}`];
          const parsed = parseSignalling(lines.join(end) + end);
          assert.equal(parsed.state, state);
          assert.equal(parsed.fileName, name);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('a torn state line is never a known state', () => {
    fc.assert(
      fc.property(fc.constantFrom(...states), fc.nat(), (state, cut) => {
        const line = `systemState: ${state}`;
        const torn = line.slice(0, cut % line.length);
        assert.equal(parseSignalling(torn).state, undefined, JSON.stringify(torn));
      }),
      { numRuns: 300 },
    );
  });
});
