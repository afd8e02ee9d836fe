import type { Diagnostic, Hover, Position } from 'vscode-languageserver';
import { DiagnosticSeverity, MarkupKind } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseRmiLogLine, type RmiLogLine } from '../core/rmm/log-line';
import {
  describeStatus,
  findRmiCommand,
  rmiArgumentName,
  rmiFunctionId,
} from '../core/rmm/rmi-commands';

/** Returns a diagnostic on every RMI call that returned an error status. */
export function logDiagnostics(document: TextDocument): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const lines = document.getText().split('\n');
  for (const [line, text] of lines.entries()) {
    const call = parseRmiLogLine(text);
    if (!call || call.statusCode === undefined || call.statusCode === 0) continue;
    const index = call.index ? ` (index ${call.index.text})` : '';
    diagnostics.push({
      range: {
        start: { line, character: call.statusRange.start },
        end: { line, character: call.statusRange.end },
      },
      severity: DiagnosticSeverity.Warning,
      source: 'RMM',
      message: `${call.command} returned ${call.status}${index}: ${describeStatus(call.status) ?? 'error'}`,
    });
  }
  return diagnostics;
}

/** Explains an RMI log line: command, function id, arguments by name, status and index. */
export function logHover(document: TextDocument, position: Position): Hover | undefined {
  const text = document.getText({
    start: { line: position.line, character: 0 },
    end: { line: position.line + 1, character: 0 },
  });
  const call = parseRmiLogLine(text.replace(/\n$/, ''));
  if (!call || position.character < call.nameRange.start) return undefined;
  return {
    contents: { kind: MarkupKind.Markdown, value: describeCall(call) },
    range: {
      start: { line: position.line, character: call.nameRange.start },
      end: { line: position.line, character: call.statusRange.end },
    },
  };
}

function describeCall(call: RmiLogLine): string {
  const command = findRmiCommand(call.command);
  const fid = command
    ? ` (function id 0x${rmiFunctionId(command).toString(16).toUpperCase()}, TF-RMM v0.4.0 numbering)`
    : '';
  const lines = [`**${call.name}**${fid}`, ''];
  for (const [i, arg] of call.args.entries()) {
    lines.push(`- X${i + 1} \`${rmiArgumentName(command, i)}\` = 0x${arg.text}`);
  }
  const status = describeStatus(call.status);
  lines.push(`- status \`${call.status}\`${status ? `: ${status}` : ''}`);
  if (call.index) lines.push(`- index ${call.index.text}`);
  for (const [i, output] of call.outputs.entries())
    lines.push(`- output X${i + 1} = 0x${output.text}`);
  return lines.join('\n');
}
