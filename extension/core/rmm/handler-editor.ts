import { LineIndex, type HandlerTable, type TextPosition } from './handler-table';

/** Replacement of the text `[start, end)` of the parsed file by `newText`. */
export interface TextEdit {
  start: number;
  end: number;
  newText: string;
  /** The text `[start, end)` replaces, so that an edit planned on an older text is detected. */
  oldText: string;
  startPosition: TextPosition;
  endPosition: TextPosition;
}

export type LogField = 'logExec' | 'logError';

export interface LogToggle {
  command: string;
  logExec?: boolean;
  logError?: boolean;
}

export type RmmVersionRange = 'v0.1-v0.2' | 'v0.3-v0.5' | 'v0.6+';

/**
 * Plans edits that set `log_exec`/`log_error` of the named commands. Only the boolean tokens
 * and the padding right after them change, by these rules, so aligned columns stay aligned:
 *
 * - The padding is the run of spaces and tabs after the token, or after the comma that
 *   directly follows it.
 * - `true` -> `false` (one character longer) also removes the first padding character when
 *   the padding starts with two spaces.
 * - `false` -> `true` (one character shorter) also inserts one space at the start of the
 *   padding when the padding starts with a space.
 * - Padding that starts with a tab, or no padding at all, is left unchanged.
 *
 * Setting a field to its current value plans no edit. A command written in more than one
 * entry (such as both branches of an `#if`) gets every entry edited. Throws an Error naming
 * the command when the table has no entry for it.
 */
export function planToggle(table: HandlerTable, changes: LogToggle[]): TextEdit[] {
  const lines = new LineIndex(table.text);
  const edits: TextEdit[] = [];
  for (const change of changes) {
    const entries = table.entries.filter((entry) => entry.command === change.command);
    if (entries.length === 0) {
      throw new Error(`RMI command ${change.command} not found in smc_handlers[].`);
    }
    for (const entry of entries) {
      if (change.logExec !== undefined && change.logExec !== entry.logExec) {
        edits.push(planTokenEdit(table.text, entry.logExecToken.start, change.logExec, lines));
      }
      if (change.logError !== undefined && change.logError !== entry.logError) {
        edits.push(planTokenEdit(table.text, entry.logErrorToken.start, change.logError, lines));
      }
    }
  }
  return edits;
}

// NOTE: a `true` followed by exactly one space (an unaligned table, `true, true`) becomes
// `false, true`, and setting it back gives `true,  true` with one more space, because the
// text alone cannot tell that case from an aligned `false, true`. Aligned tables restore exactly.
function planTokenEdit(text: string, start: number, value: boolean, lines: LineIndex): TextEdit {
  const oldLength = value ? 'false'.length : 'true'.length;
  let paddingStart = start + oldLength;
  if (text[paddingStart] === ',') paddingStart++;
  const comma = paddingStart > start + oldLength ? ',' : '';

  let end = start + oldLength;
  let newText = String(value);
  if (!value && text.startsWith('  ', paddingStart)) {
    end = paddingStart + 1;
    newText += comma;
  } else if (value && text[paddingStart] === ' ') {
    end = paddingStart;
    newText += comma + ' ';
  }
  return {
    start,
    end,
    newText,
    oldText: text.slice(start, end),
    startPosition: lines.positionAt(start),
    endPosition: lines.positionAt(end),
  };
}

/** Plans edits that set one field to `true` in every entry. */
export function enableAll(table: HandlerTable, field: LogField): TextEdit[] {
  return setAll(table, field, true);
}

/** Plans edits that set one field to `false` in every entry. */
export function disableAll(table: HandlerTable, field: LogField): TextEdit[] {
  return setAll(table, field, false);
}

function setAll(table: HandlerTable, field: LogField, value: boolean): TextEdit[] {
  const commands = [...new Set(table.entries.map((entry) => entry.command))];
  return planToggle(
    table,
    commands.map((command) => ({ command, [field]: value })),
  );
}

/**
 * Applies non-overlapping edits, all planned against `text`, and returns the new text. Throws,
 * and changes nothing, when the text at an edit is not the text it was planned on: the file
 * changed after the edits were planned, so they must be planned again.
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start);
  for (const edit of sorted) {
    const found = text.slice(edit.start, edit.end);
    if (found !== edit.oldText) {
      const { line, character } = edit.startPosition;
      throw new Error(
        `handler.c changed after the edit was planned: expected ${JSON.stringify(edit.oldText)} ` +
          `at line ${line + 1}, column ${character + 1}, found ${JSON.stringify(found)}. ` +
          'Nothing was changed; read the file again and retry.',
      );
    }
  }
  let result = text;
  let limit = text.length;
  for (const edit of sorted) {
    if (edit.end > limit) {
      throw new Error(`Overlapping edits at offset ${edit.start}; plan them in one pass.`);
    }
    result = result.slice(0, edit.start) + edit.newText + result.slice(edit.end);
    limit = edit.start;
  }
  return result;
}

/**
 * Returns the TF-RMM versions whose handler.c has this table shape: `HANDLER_N` is
 * v0.1.0-v0.2.0, and six-argument `HANDLER` is v0.3.0-v0.5.0 with `SMC_RMM_` ids or v0.6.0
 * and later with `SMC_RMI_` ids.
 */
export function detectRmmVersionFromTable(table: HandlerTable): RmmVersionRange {
  if (table.entries.some((entry) => entry.macro !== 'HANDLER')) return 'v0.1-v0.2';
  // NOTE: a table that writes no prefix anywhere (entries, designators or a `SMC_RMx_##`
  // macro definition) cannot be dated from the table alone and is reported as v0.3-v0.5.
  return table.fidPrefix === 'SMC_RMI_' ? 'v0.6+' : 'v0.3-v0.5';
}
