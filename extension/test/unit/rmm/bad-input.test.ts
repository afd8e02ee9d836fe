// handler.c files that cannot be edited safely: unbalanced braces, a table split by #if, and a
// file that changed on disk after a toggle was planned. Each gives an error that names the
// problem and its line, and no edit.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { applyEdits, planToggle } from '../../../core/rmm/handler-editor';
import { parseHandlerTable, type HandlerTable } from '../../../core/rmm/handler-table';
import { handlerV03 } from './fixtures';

const head = 'static const struct smc_handler smc_handlers[] = {\n';
const entry = (command: string, exec = 'false') =>
  `\tHANDLER(${command}, 1, 0, smc_${command.toLowerCase()}, ${exec}, true),\n`;

function parseTable(text: string): HandlerTable {
  const result = parseHandlerTable(text);
  if (result.kind === 'error') assert.fail(`unexpected parse error: ${result.message}`);
  return result;
}

/** Returns the error for `text` with its one-based line, as an editor shows it. */
function parseError(text: string): { message: string; line: number } {
  const result = parseHandlerTable(text);
  assert.equal(result.kind, 'error', 'expected a parse error');
  if (result.kind !== 'error') return { message: '', line: 0 };
  return { message: result.message, line: result.position.line + 1 };
}

describe('handler.c with unbalanced braces', () => {
  const cases: [string, string, RegExp, number][] = [
    ['table never closed', head + entry('VERSION'), /`smc_handlers\[\]` is never closed/, 1],
    [
      'extra closing parenthesis',
      head + '\tHANDLER(VERSION, 1, 0, smc_version, true, true)),\n};\n',
      /Unexpected '\)' in smc_handlers\[\]/,
      2,
    ],
    [
      'missing closing parenthesis',
      head + '\tHANDLER(VERSION, 1, 0, smc_version, true, true,\n};\n',
      /Unbalanced parentheses in HANDLER entry/,
      2,
    ],
    [
      'entry in its own braces',
      head + '\t{ HANDLER(VERSION, 1, 0, smc_version, true, true) },\n};\n',
      /Unexpected '\{' in smc_handlers\[\]/,
      2,
    ],
    [
      'unterminated comment',
      head + entry('VERSION') + '\t/* REC_CREATE,\n};\n',
      /Unterminated \/\* comment/,
      3,
    ],
  ];
  for (const [name, text, message, line] of cases) {
    test(name, () => {
      const error = parseError(text);
      assert.match(error.message, message);
      assert.equal(error.line, line, error.message);
    });
  }

  test('brace in a comment or string', () => {
    const text =
      head + entry('VERSION') + '\t/* } */\n' + entry('REC_CREATE') + '};\nconst char *s = "}";\n';
    assert.deepEqual(
      parseTable(text).entries.map((e) => e.command),
      ['VERSION', 'REC_CREATE'],
    );
  });
});

describe('handler.c table split by #if', () => {
  test('closing brace inside an #if', () => {
    const text =
      head +
      entry('VERSION') +
      '#ifdef RMM_V1_1\n' +
      entry('REC_CREATE') +
      '};\n#else\n' +
      entry('REC_ENTER') +
      '};\n#endif\n';
    const error = parseError(text);
    assert.match(error.message, /closing brace of `smc_handlers\[\]` is inside an #if block/);
    assert.equal(error.line, 3, 'points at the #ifdef');
  });

  test('#if inside one entry', () => {
    const text =
      head +
      '\tHANDLER(REC_CREATE, 3, 0, smc_rec_create,\n#if LOG_ALL\n\t\ttrue,\n#else\n\t\tfalse,\n' +
      '#endif\n\t\ttrue),\n};\n';
    const error = parseError(text);
    assert.match(error.message, /preprocessor line inside a HANDLER entry/);
    assert.equal(error.line, 3, 'points at the #if');
  });

  test('#if around whole entries', () => {
    const text =
      head +
      entry('VERSION') +
      '#if A\n' +
      entry('REC_CREATE') +
      '# if B\n' +
      entry('REC_ENTER') +
      '# endif\n#else\n' +
      entry('REC_CREATE', 'true') +
      '#endif\n};\n';
    const table = parseTable(text);
    assert.deepEqual(
      table.entries.map((e) => e.command),
      ['VERSION', 'REC_CREATE', 'REC_ENTER', 'REC_CREATE'],
    );
    // Both branches' entries change.
    const edited = applyEdits(text, planToggle(table, [{ command: 'REC_CREATE', logExec: true }]));
    assert.ok(
      parseTable(edited)
        .entries.filter((e) => e.command === 'REC_CREATE')
        .every((e) => e.logExec),
    );
  });
});

describe('handler.c changed on disk while a toggle is pending', () => {
  async function withHandlerFile(run: (file: string) => Promise<void>): Promise<void> {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'cca-handler-'));
    try {
      const file = path.join(folder, 'handler.c');
      await writeFile(file, handlerV03);
      await run(file);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  test('entry added above: edit rejected', async () => {
    await withHandlerFile(async (file) => {
      const planned = planToggle(parseTable(await readFile(file, 'utf8')), [
        { command: 'REC_CREATE', logExec: true },
      ]);
      // Someone else's edit lands first: a new entry moves every offset below it.
      const changed = handlerV03.replace(
        '\tHANDLER(GRANULE_DELEGATE,',
        '\tHANDLER(FEATURES,\t\t1, 1, smc_read_feature_register,\tfalse, true),\n' +
          '\tHANDLER(GRANULE_DELEGATE,',
      );
      await writeFile(file, changed);

      const current = await readFile(file, 'utf8');
      assert.throws(() => applyEdits(current, planned), {
        message: new RegExp(
          '^handler\\.c changed after the edit was planned: expected "false," at line 9, ' +
            'column \\d+, found ".*"\\. Nothing was changed; read the file again and retry\\.$',
        ),
      });
      assert.equal(await readFile(file, 'utf8'), changed, 'the file is as the other edit left it');

      // Planned again on the current text, the toggle applies.
      const replanned = planToggle(parseTable(current), [{ command: 'REC_CREATE', logExec: true }]);
      const edited = applyEdits(current, replanned);
      const entries = parseTable(edited).entries;
      assert.equal(entries.find((e) => e.command === 'REC_CREATE')?.logExec, true);
      assert.equal(entries.find((e) => e.command === 'FEATURES')?.logExec, false);
    });
  });

  test('same token flipped: edit rejected', async () => {
    await withHandlerFile(async (file) => {
      const planned = planToggle(parseTable(await readFile(file, 'utf8')), [
        { command: 'REC_ENTER', logExec: true },
      ]);
      const changed = handlerV03.replace(
        'smc_rec_enter,\t\t\tfalse, true',
        'smc_rec_enter,\t\t\ttrue,  true',
      );
      assert.notEqual(changed, handlerV03);
      await writeFile(file, changed);
      assert.throws(() => applyEdits(changed, planned), /changed after the edit was planned/);
    });
  });

  test('change elsewhere: edit applies', async () => {
    await withHandlerFile(async (file) => {
      const planned = planToggle(parseTable(await readFile(file, 'utf8')), [
        { command: 'RTT_CREATE', logExec: true },
      ]);
      const changed = `${handlerV03}\n/* A comment added below the table. */\n`;
      await writeFile(file, changed);
      const edited = applyEdits(changed, planned);
      assert.equal(
        parseTable(edited).entries.find((e) => e.command === 'RTT_CREATE')?.logExec,
        true,
      );
      assert.ok(edited.endsWith('/* A comment added below the table. */\n'));
    });
  });
});
