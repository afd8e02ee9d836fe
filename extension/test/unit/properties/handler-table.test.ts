// Property tests of the handler.c table parser and editor on damaged copies of the fixtures.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { applyEdits, disableAll, enableAll, planToggle } from '../../../core/rmm/handler-editor';
import { parseHandlerTable, type HandlerTable } from '../../../core/rmm/handler-table';
import { allFixtures } from '../rmm/fixtures';

// Pieces whose insertion or removal breaks C in the ways a hand edit does.
const pieces = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ',',
  ';',
  '"',
  "'",
  '\\',
  '/*',
  '*/',
  '//',
  '\n',
  '\r\n',
  '#if X\n',
  '#else\n',
  '#endif\n',
  'true',
  'false',
  ' ',
  'HANDLER(',
];

/** One change: insert a piece at an offset, or delete the character there (empty piece). */
const change = fc.tuple(fc.nat(), fc.constantFrom('', ...pieces));

function damage(text: string, changes: [number, string][]): string {
  let result = text;
  for (const [offset, piece] of changes) {
    const at = offset % (result.length + 1);
    result =
      piece === ''
        ? result.slice(0, at) + result.slice(at + 1)
        : result.slice(0, at) + piece + result.slice(at);
  }
  return result;
}

/** Checks that each entry's tokens are the literal booleans it reports, at the stated offsets. */
function assertTokens(text: string, table: HandlerTable): void {
  for (const entry of table.entries) {
    assert.equal(
      text.slice(entry.logExecToken.start, entry.logExecToken.end),
      String(entry.logExec),
    );
    assert.equal(
      text.slice(entry.logErrorToken.start, entry.logErrorToken.end),
      String(entry.logError),
    );
  }
}

describe('handler.c table properties', () => {
  test('damaged tables give a table or an error, never a throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(allFixtures)),
        fc.array(change, { minLength: 1, maxLength: 4 }),
        (fixture, changes) => {
          const text = damage(fixture, changes);
          const result = parseHandlerTable(text);
          if (result.kind === 'error') {
            assert.ok(result.message.length > 0);
            assert.ok(result.offset >= 0, `offset ${result.offset}`);
            assert.ok(result.offset <= text.length, `offset ${result.offset}`);
            return;
          }
          assertTokens(text, result);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('enable and disable all on a damaged table keep it readable', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(allFixtures)),
        fc.array(change, { maxLength: 3 }),
        fc.constantFrom('logExec' as const, 'logError' as const),
        fc.boolean(),
        (fixture, changes, field, value) => {
          const text = damage(fixture, changes);
          const table = parseHandlerTable(text);
          if (table.kind === 'error') return;
          const edits = value ? enableAll(table, field) : disableAll(table, field);
          const edited = applyEdits(text, edits);
          const reread = parseHandlerTable(edited);
          assert.equal(reread.kind, 'table', reread.kind === 'error' ? reread.message : '');
          if (reread.kind !== 'table') return;
          assert.equal(reread.entries.length, table.entries.length);
          assert.ok(reread.entries.every((entry) => entry[field] === value));
          // Only the boolean tokens and the padding after them changed.
          const strip = (s: string) => s.replace(/\b(true|false)\b/g, '').replace(/[ \t]+/g, ' ');
          assert.equal(strip(edited), strip(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('edits planned on an older text are rejected', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(allFixtures)),
        fc.array(change, { minLength: 1, maxLength: 3 }),
        (fixture, changes) => {
          const table = parseHandlerTable(fixture);
          assert.equal(table.kind, 'table');
          if (table.kind !== 'table') return;
          const edits = [...enableAll(table, 'logExec'), ...disableAll(table, 'logError')];
          // The file as it is on disk by the time the edits are applied.
          const changed = damage(fixture, changes);
          const stale = edits.some((edit) => changed.slice(edit.start, edit.end) !== edit.oldText);
          if (stale) {
            assert.throws(() => applyEdits(changed, edits), /changed after the edit was planned/);
          } else {
            assert.doesNotThrow(() => applyEdits(changed, edits));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('toggling one command changes only its entries', () => {
    for (const [name, fixture] of Object.entries(allFixtures)) {
      const table = parseHandlerTable(fixture);
      assert.equal(table.kind, 'table', name);
      if (table.kind !== 'table') continue;
      const original: HandlerTable = table;
      const commands = [...new Set(original.entries.map((entry) => entry.command))];
      fc.assert(
        fc.property(
          fc.constantFrom(...commands),
          fc.boolean(),
          fc.boolean(),
          (command, exec, error) => {
            const edited = applyEdits(
              fixture,
              planToggle(original, [{ command, logExec: exec, logError: error }]),
            );
            const reread = parseHandlerTable(edited);
            assert.equal(reread.kind, 'table');
            if (reread.kind !== 'table') return;
            for (const [i, entry] of reread.entries.entries()) {
              const before = original.entries[i];
              assert.ok(before);
              const expected: { logExec: boolean; logError: boolean } =
                entry.command === command
                  ? { logExec: exec, logError: error }
                  : { logExec: before.logExec, logError: before.logError };
              assert.deepEqual({ logExec: entry.logExec, logError: entry.logError }, expected);
            }
          },
        ),
        { numRuns: 100 },
      );
    }
  });
});
