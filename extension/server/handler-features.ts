import type { CodeAction, CodeLens, Diagnostic, Range } from 'vscode-languageserver';
import { CodeActionKind, DiagnosticSeverity } from 'vscode-languageserver';
import { fileURLToPath } from 'node:url';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { detectRmmVersion, rmmVersionFamily, type RmmVersionFamily } from '../core/rmm/rmm-version';
import {
  detectRmmVersionFromTable,
  disableAll,
  enableAll,
  planToggle,
  type RmmVersionRange,
  type TextEdit,
} from '../core/rmm/handler-editor';
import { parseHandlerTable, type HandlerEntry, type HandlerTable } from '../core/rmm/handler-table';
import { findRmiCommand, formatFunctionId, rmiFunctionId } from '../core/rmm/rmi-commands';

/** Returns true for TF-RMM's handler table file, the only C file this server reads. */
export function isHandlerFile(uri: string): boolean {
  return /\/runtime\/core\/handler\.c$/.test(uri);
}

/** Returns a diagnostic when the table cannot be understood, so that no toggle is offered. */
export function handlerDiagnostics(document: TextDocument): Diagnostic[] {
  const parsed = parseHandlerTable(document.getText());
  if (parsed.kind === 'table') return [];
  const position = parsed.position;
  return [
    {
      range: { start: position, end: { line: position.line, character: position.character + 1 } },
      severity: DiagnosticSeverity.Warning,
      source: 'CCA Realm Studio',
      message: `RMI handler table not understood, so no log toggles are offered: ${parsed.message}`,
    },
  ];
}

/**
 * Returns the code actions on the handler table. Each entry in the range gets actions that turn
 * its `log_exec` or `log_error` on or off, and any entry offers a column for every command.
 */
export function handlerCodeActions(document: TextDocument, range: Range): CodeAction[] {
  const table = parseHandlerTable(document.getText());
  if (table.kind !== 'table') return [];
  const entries = table.entries.filter((entry) => overlaps(entry, range));
  if (entries.length === 0) return [];

  const actions: CodeAction[] = [];
  for (const entry of entries) {
    actions.push(
      toggleAction(document, table, entry, 'logExec', 'log_exec'),
      toggleAction(document, table, entry, 'logError', 'log_error'),
    );
  }
  for (const field of ['logExec', 'logError'] as const) {
    const column = field === 'logExec' ? 'log_exec' : 'log_error';
    actions.push(
      editAction(document, `Enable ${column} for all RMI commands`, enableAll(table, field)),
      editAction(document, `Disable ${column} for all RMI commands`, disableAll(table, field)),
    );
  }
  return actions.filter((action) => (action.edit?.changes?.[document.uri]?.length ?? 0) > 0);
}

/**
 * Returns a lens per entry with the command's function id and log state. `configuredVersion`
 * (the setting) wins over the checkout's CMakeLists.txt, which wins over the table's shape.
 * The id comes from the table of the version's family. A command that table lacks shows
 * `id unknown`, and so does every command of v0.9.0 and later, whose ids are not established.
 */
export function handlerCodeLenses(document: TextDocument, configuredVersion?: string): CodeLens[] {
  const table = parseHandlerTable(document.getText());
  if (table.kind !== 'table') return [];
  const family =
    rmmVersionFamily(configuredVersion ?? detectRmmVersion(fileURLToPath(document.uri)) ?? '') ??
    familyFromTableShape(detectRmmVersionFromTable(table));
  return table.entries.map((entry) => {
    const command = family === undefined ? undefined : findRmiCommand(entry.command, family);
    const fid = command ? formatFunctionId(rmiFunctionId(command)) : 'id unknown';
    const state = `log_exec ${entry.logExec ? 'on' : 'off'} · log_error ${entry.logError ? 'on' : 'off'}`;
    return {
      range: { start: entry.range.startPosition, end: entry.range.startPosition },
      command: {
        title: `${entry.command} ${fid} · ${state}`,
        command: 'ccaRealmStudio.rmi.showEntry',
      },
    };
  });
}

/**
 * Maps the table shape to a family. Tables with `SMC_RMI_` ids exist from v0.6.0 on, and v0.9.0
 * renumbers, so that shape gives no family and no ids.
 */
function familyFromTableShape(range: RmmVersionRange): RmmVersionFamily | undefined {
  return range === 'v0.6+' ? undefined : range;
}

function toggleAction(
  document: TextDocument,
  table: HandlerTable,
  entry: HandlerEntry,
  field: 'logExec' | 'logError',
  column: string,
): CodeAction {
  const enable = !entry[field];
  const title = `${enable ? 'Enable' : 'Disable'} ${column} for ${entry.command}`;
  return editAction(
    document,
    title,
    planToggle(table, [{ command: entry.command, [field]: enable }]),
  );
}

/** The client command that runs after a toggle: it offers to rebuild the RMM and fip.bin. */
export const afterEditCommand = 'ccaRealmStudio.rmi.afterEdit';

function editAction(document: TextDocument, title: string, edits: TextEdit[]): CodeAction {
  return {
    title,
    kind: CodeActionKind.RefactorRewrite,
    command: {
      title: 'Offer to rebuild the RMM',
      command: afterEditCommand,
      arguments: [document.uri],
    },
    edit: {
      changes: {
        [document.uri]: edits.map((edit) => ({
          range: { start: edit.startPosition, end: edit.endPosition },
          newText: edit.newText,
        })),
      },
    },
  };
}

function overlaps(entry: HandlerEntry, range: Range): boolean {
  const start = entry.range.startPosition;
  const end = entry.range.endPosition;
  const before =
    range.end.line < start.line ||
    (range.end.line === start.line && range.end.character < start.character);
  const after =
    range.start.line > end.line ||
    (range.start.line === end.line && range.start.character > end.character);
  return !before && !after;
}
