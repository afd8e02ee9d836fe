import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  parseHandlerTable,
  type HandlerTable,
  type HandlerTableError,
} from '../../../core/rmm/handler-table';
import {
  applyEdits,
  detectRmmVersionFromTable,
  disableAll,
  enableAll,
  planToggle,
  type LogToggle,
} from '../../../core/rmm/handler-editor';
import {
  allFixtures,
  handlerCrlf,
  handlerEdgeCases,
  handlerN,
  handlerV03,
  handlerV06,
} from './fixtures';

function parseTable(text: string): HandlerTable {
  const result = parseHandlerTable(text);
  if (result.kind === 'error') assert.fail(`unexpected parse error: ${result.message}`);
  return result;
}

function parseError(text: string): HandlerTableError {
  const result = parseHandlerTable(text);
  if (result.kind === 'table') assert.fail('expected a parse error');
  return result;
}

function entryOf(table: HandlerTable, command: string) {
  const entry = table.entries.find((candidate) => candidate.command === command);
  assert.ok(entry, `no entry for ${command}`);
  return entry;
}

/** Parses `text`, plans edits on the table and applies them. */
function edit(text: string, plan: (table: HandlerTable) => ReturnType<typeof planToggle>): string {
  return applyEdits(text, plan(parseTable(text)));
}

const twoField = (table: HandlerTable, value: boolean) =>
  value
    ? [...enableAll(table, 'logExec'), ...enableAll(table, 'logError')]
    : [...disableAll(table, 'logExec'), ...disableAll(table, 'logError')];

describe('parseHandlerTable', () => {
  test('HANDLER_N shape', () => {
    const table = parseTable(handlerN);
    assert.equal(table.entries.length, 8);
    const dataCreate = entryOf(table, 'DATA_CREATE');
    assert.equal(dataCreate.macro, 'HANDLER_5');
    assert.equal(dataCreate.prefix, 'SMC_RMM_');
    assert.equal(dataCreate.logExec, false);
    assert.equal(dataCreate.logError, false);
    assert.equal(entryOf(table, 'VERSION').logExec, true);
    assert.equal(detectRmmVersionFromTable(table), 'v0.1-v0.2');
  });

  test('six-argument HANDLER, v0.3 shape', () => {
    const table = parseTable(handlerV03);
    assert.equal(table.entries.length, 9);
    const version = entryOf(table, 'VERSION');
    assert.equal(version.macro, 'HANDLER');
    assert.equal(version.prefix, undefined);
    assert.equal(table.fidPrefix, 'SMC_RMM_');
    assert.equal(entryOf(table, 'RTT_SET_RIPAS').logError, true);
    assert.equal(detectRmmVersionFromTable(table), 'v0.3-v0.5');
  });

  test('SMC_RMI_ ids, v0.6 shape', () => {
    const table = parseTable(handlerV06);
    assert.equal(table.entries.length, 8);
    assert.equal(entryOf(table, 'REC_ENTER').prefix, 'SMC_RMI_');
    assert.equal(detectRmmVersionFromTable(table), 'v0.6+');
  });

  test('token and entry ranges', () => {
    const table = parseTable(handlerV06);
    const realm = entryOf(table, 'REALM_CREATE');
    assert.equal(handlerV06.slice(realm.logExecToken.start, realm.logExecToken.end), 'true');
    assert.equal(handlerV06.slice(realm.logErrorToken.start, realm.logErrorToken.end), 'true');
    const realmLine = handlerV06.split('\n')[4] ?? '';
    assert.deepEqual(realm.logExecToken.startPosition, {
      line: 4,
      character: realmLine.indexOf('true,'),
    });
    assert.equal(realm.logExecToken.startPosition.character, 69);
    assert.equal(
      handlerV06.slice(realm.range.start, realm.range.end),
      'HANDLER(SMC_RMI_REALM_CREATE,      2, 0, smc_realm_create,       true,  true)',
    );
    assert.deepEqual(realm.range.startPosition, { line: 4, character: 4 });
  });

  test('comments, split entry, #if and designator', () => {
    const table = parseTable(handlerEdgeCases);
    assert.deepEqual(
      table.entries.map((entry) => [entry.command, entry.logExec, entry.logError]),
      [
        ['VERSION', true, true],
        ['GRANULE_DELEGATE', false, true],
        ['REC_CREATE', false, true],
        ['RTT_SET_RIPAS', false, true],
        ['RTT_SET_RIPAS', true, false],
        ['REC_ENTER', false, true],
      ],
    );
    const version = entryOf(table, 'VERSION');
    assert.equal(version.designator, 'SMC_RMM_VERSION');
    assert.ok(handlerEdgeCases.slice(version.range.start).startsWith('[SMC_RMM_VERSION]'));
    const recCreate = entryOf(table, 'REC_CREATE');
    assert.equal(recCreate.range.startPosition.line, 5);
    assert.equal(recCreate.range.endPosition.line, 9);
    assert.deepEqual(recCreate.logErrorToken.startPosition, { line: 9, character: 2 });
  });

  test('CRLF line endings', () => {
    const table = parseTable(handlerCrlf);
    assert.equal(table.entries.length, 9);
    const recEnter = entryOf(table, 'REC_ENTER');
    const lf = entryOf(parseTable(handlerV03), 'REC_ENTER');
    assert.deepEqual(recEnter.logExecToken.startPosition, lf.logExecToken.startPosition);
    assert.equal(
      handlerCrlf.slice(recEnter.logExecToken.start, recEnter.logExecToken.end),
      'false',
    );
  });

  test('unknown macro is an error', () => {
    const text = handlerV03.replace('HANDLER(REC_ENTER,', 'HANDLER_EX(REC_ENTER,');
    const error = parseError(text);
    assert.match(error.message, /Unknown macro 'HANDLER_EX'/);
    assert.equal(error.position.line, 9);
    assert.equal(error.position.character, 1);
  });

  test('non-boolean argument is an error', () => {
    const text = handlerV03.replace('smc_rec_enter,\t\t\tfalse', 'smc_rec_enter,\t\t\tLOG_ON');
    const error = parseError(text);
    assert.match(error.message, /Invalid log_exec 'LOG_ON' for REC_ENTER/);
    assert.equal(error.position.line, 9);
  });

  test('missing table is an error', () => {
    assert.match(parseError('int main(void) { return 0; }\n').message, /Table not found/);
  });

  test('table in a comment is not found', () => {
    const text = '/* smc_handlers[] = { HANDLER(VERSION, 0, 0, f, true, true) }; */\n';
    assert.match(parseError(text).message, /Table not found/);
  });

  test('unbalanced parentheses are an error', () => {
    const text = handlerV06.replace('smc_rec_enter,', 'smc_rec_enter(,');
    assert.match(parseError(text).message, /Unbalanced parentheses/);
  });

  test('unclosed table is an error', () => {
    const text = handlerV06.replace('};', '');
    assert.match(parseError(text).message, /never closed/);
  });

  test('wrong argument count is an error', () => {
    const text = handlerN.replace('HANDLER_0(SMC_RMM_VERSION,', 'HANDLER_0(SMC_RMM_VERSION, 0,');
    assert.match(parseError(text).message, /HANDLER_0 takes 4 arguments but this entry has 5/);
  });

  test('apostrophe in #error line is tolerated', () => {
    const table = parseTable("#error don't build this\n" + handlerV06);
    assert.equal(table.entries.length, 8);
  });

  test('non-HANDLER initializer is an error', () => {
    const text = handlerV06.replace(
      'HANDLER(SMC_RMI_REC_ENTER',
      '{ (void *)0 }, HANDLER(SMC_RMI_REC_ENTER',
    );
    assert.match(parseError(text).message, /Unexpected '\{'/);
  });

  test('unterminated comment is an error', () => {
    const text = handlerV06.replace('HANDLER(SMC_RMI_REC_ENTER', '/* HANDLER(SMC_RMI_REC_ENTER');
    assert.match(parseError(text).message, /Unterminated \/\* comment/);
  });
});

describe('planToggle', () => {
  test('one entry changes only its tokens', () => {
    for (const [name, text] of Object.entries(allFixtures)) {
      const table = parseTable(text);
      const target = entryOf(table, 'REC_ENTER');
      const edits = planToggle(table, [{ command: 'REC_ENTER', logExec: true, logError: false }]);
      assert.equal(edits.length, 2, name);
      for (const change of edits) {
        assert.ok(change.start >= target.range.start, name);
        assert.ok(change.end <= target.range.end, name);
      }
      const after = parseTable(applyEdits(text, edits));
      const before = table.entries.filter((entry) => entry.command !== 'REC_ENTER');
      const others = after.entries.filter((entry) => entry.command !== 'REC_ENTER');
      assert.deepEqual(
        others.map((entry) => [entry.command, entry.logExec, entry.logError]),
        before.map((entry) => [entry.command, entry.logExec, entry.logError]),
        name,
      );
      assert.equal(entryOf(after, 'REC_ENTER').logExec, true, name);
      assert.equal(entryOf(after, 'REC_ENTER').logError, false, name);
    }
  });

  test('keeps the log_error column aligned', () => {
    const after = edit(handlerV06, (table) =>
      planToggle(table, [{ command: 'REC_ENTER', logExec: true }]),
    );
    const line = after.split('\n')[6] ?? '';
    assert.equal(
      line,
      '    HANDLER(SMC_RMI_REC_ENTER,         2, 0, smc_rec_enter,          true,  true),',
    );
    const back = edit(after, (table) =>
      planToggle(table, [{ command: 'VERSION', logExec: false }]),
    );
    assert.equal(
      back.split('\n')[1],
      '    HANDLER(SMC_RMI_VERSION,           1, 2, smc_version,            false, true),',
    );
  });

  test('edit positions match offsets', () => {
    const table = parseTable(handlerCrlf);
    const [change] = planToggle(table, [{ command: 'RTT_CREATE', logExec: true }]);
    assert.ok(change);
    const entry = entryOf(table, 'RTT_CREATE');
    assert.deepEqual(change.startPosition, entry.logExecToken.startPosition);
    assert.equal(change.endPosition.line, change.startPosition.line);
    assert.equal(change.endPosition.character - change.startPosition.character, 6);
  });

  test('unchanged value plans no edit', () => {
    const table = parseTable(handlerN);
    assert.deepEqual(
      planToggle(table, [{ command: 'VERSION', logExec: true, logError: true }]),
      [],
    );
  });

  test('unaligned true gains a space back', () => {
    const text = 'smc_handlers[] = {\n\tHANDLER(VERSION, 0, 0, smc_version, true, true),\n};\n';
    const disabled = edit(text, (table) =>
      planToggle(table, [{ command: 'VERSION', logExec: false }]),
    );
    assert.ok(disabled.includes('smc_version, false, true)'));
    const enabled = edit(disabled, (table) =>
      planToggle(table, [{ command: 'VERSION', logExec: true }]),
    );
    assert.ok(enabled.includes('smc_version, true,  true)'));
  });

  test('tab padding is left unchanged', () => {
    const text = 'smc_handlers[] = {\n\tHANDLER(VERSION, 0, 0, smc_version, true,\ttrue),\n};\n';
    const disabled = edit(text, (table) =>
      planToggle(table, [{ command: 'VERSION', logExec: false }]),
    );
    assert.ok(disabled.includes('smc_version, false,\ttrue)'));
    const enabled = edit(disabled, (table) =>
      planToggle(table, [{ command: 'VERSION', logExec: true }]),
    );
    assert.equal(enabled, text);
  });

  test('unknown command throws', () => {
    const table = parseTable(handlerN);
    assert.throws(() => planToggle(table, [{ command: 'REC_DESTROY', logExec: true }]), {
      message: /REC_DESTROY not found/,
    });
  });

  test('command in both #if branches edits both', () => {
    const table = parseTable(handlerEdgeCases);
    const edits = planToggle(table, [{ command: 'RTT_SET_RIPAS', logError: true }]);
    assert.equal(edits.length, 1);
    const after = parseTable(applyEdits(handlerEdgeCases, edits));
    const ripas = after.entries.filter((entry) => entry.command === 'RTT_SET_RIPAS');
    assert.deepEqual(
      ripas.map((entry) => entry.logError),
      [true, true],
    );
  });

  test('applyEdits rejects overlapping edits', () => {
    const table = parseTable(handlerN);
    const [change] = planToggle(table, [{ command: 'REC_ENTER', logExec: true }]);
    assert.ok(change);
    assert.throws(() => applyEdits(handlerN, [change, change]), { message: /Overlapping edits/ });
  });
});

describe('enableAll and disableAll', () => {
  for (const [name, text] of Object.entries(allFixtures)) {
    test(`round trip on ${name}`, () => {
      const disabled = edit(text, (table) => twoField(table, false));
      const enabled = edit(disabled, (table) => twoField(table, true));
      const table = parseTable(enabled);
      assert.ok(table.entries.every((entry) => entry.logExec && entry.logError));
      assert.equal(
        edit(enabled, (t) => twoField(t, false)),
        disabled,
      );

      // Restoring the original values after enabling everything gives the original bytes.
      assert.equal(applyEdits(enabled, planRestore(parseTable(enabled), text)), text);
      assert.equal(applyEdits(disabled, planRestore(parseTable(disabled), text)), text);
    });
  }

  test('enable then disable gives the all-false file', () => {
    const allFalse = edit(handlerV03, (table) => twoField(table, false));
    const roundTrip = edit(
      edit(allFalse, (table) => twoField(table, true)),
      (table) => twoField(table, false),
    );
    assert.equal(roundTrip, allFalse);
  });
});

/**
 * Plans edits that give every entry the values it has in `original`, matching entries by
 * their order because a command may appear in two `#if` branches.
 */
function planRestore(table: HandlerTable, original: string) {
  const source = parseTable(original).entries;
  return table.entries.flatMap((entry, index) => {
    const expected = source[index];
    assert.ok(expected);
    const single: HandlerTable = { ...table, entries: [entry] };
    return planToggle(single, [
      { command: entry.command, logExec: expected.logExec, logError: expected.logError },
    ]);
  });
}

describe('toggle property', () => {
  test('random toggles then restore give the original', () => {
    for (const text of Object.values(allFixtures)) {
      const commands = [...new Set(parseTable(text).entries.map((entry) => entry.command))];
      const toggle = fc.record({
        command: fc.constantFrom(...commands),
        logExec: fc.option(fc.boolean(), { nil: undefined }),
        logError: fc.option(fc.boolean(), { nil: undefined }),
      });
      fc.assert(
        fc.property(fc.array(toggle, { maxLength: 12 }), (toggles: LogToggle[]) => {
          let current = text;
          for (const change of toggles) {
            current = edit(current, (table) => planToggle(table, [change]));
          }
          assert.equal(applyEdits(current, planRestore(parseTable(current), text)), text);
        }),
        { numRuns: 200 },
      );
    }
  });
});
