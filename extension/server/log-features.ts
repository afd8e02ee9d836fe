import type { Diagnostic, Hover, Position } from 'vscode-languageserver';
import { DiagnosticSeverity, MarkupKind } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseRmiLogLine, type RmiLogLine } from '../core/rmm/log-line';
import {
  describeStatus,
  findRmiCommand,
  formatFunctionId,
  rmiArgumentName,
  rmiFunctionId,
  rmiNumbering,
  type RmiCommand,
  type RmiNumbering,
} from '../core/rmm/rmi-commands';

/**
 * Returns a diagnostic on every RMI call that returned a named status other than RMI_SUCCESS.
 * `version` is the TF-RMM version or family name whose status numbering applies, or v0.4.0 when
 * undefined.
 */
export function logDiagnostics(document: TextDocument, version?: string): Diagnostic[] {
  const numbering = rmiNumbering(version);
  const diagnostics: Diagnostic[] = [];
  const lines = document.getText().split('\n');
  for (const [line, text] of lines.entries()) {
    const call = parseRmiLogLine(text, version);
    if (!call || !call.status.startsWith('RMI_') || call.status === 'RMI_SUCCESS') continue;
    diagnostics.push({
      range: {
        start: { line, character: call.statusRange.start },
        end: { line, character: call.statusRange.end },
      },
      severity: DiagnosticSeverity.Warning,
      source: 'RMM',
      message: diagnosticMessage(call, numbering, version),
    });
  }
  return diagnostics;
}

function diagnosticMessage(call: RmiLogLine, numbering: RmiNumbering, version?: string): string {
  const index = call.index ? ` (index ${call.index.text})` : '';
  const head = `${call.command} returned ${call.status}${index}`;
  const description = describeStatus(call.status, version);
  if (call.statusCode === undefined || description === undefined) {
    const fix = 'set ccaRealmStudio.rmm.version to the TF-RMM version that printed the log';
    return `${head}: ${numbering.label} has no such status; ${fix}.`;
  }
  return `${head}, status ${call.statusCode} in ${numbering.label}: ${description}`;
}

/**
 * Explains an RMI log line: command, function id, arguments by name, status and index. The
 * numbering is that of `version`, a TF-RMM version or family name, or v0.4.0 when undefined.
 */
export function logHover(
  document: TextDocument,
  position: Position,
  version?: string,
): Hover | undefined {
  const text = document.getText({
    start: { line: position.line, character: 0 },
    end: { line: position.line + 1, character: 0 },
  });
  const call = parseRmiLogLine(text.replace(/\n$/, ''), version);
  if (!call || position.character < call.nameRange.start) return undefined;
  return {
    contents: { kind: MarkupKind.Markdown, value: describeCall(call, version) },
    range: {
      start: { line: position.line, character: call.nameRange.start },
      end: { line: position.line, character: call.statusRange.end },
    },
  };
}

function describeCall(call: RmiLogLine, version?: string): string {
  const numbering = rmiNumbering(version);
  const command = findRmiCommand(call.command, version);
  const lines = [`**${call.name}** (${functionIdText(command, numbering)})`, ''];
  for (const [i, arg] of call.args.entries()) {
    lines.push(`- X${i + 1} \`${rmiArgumentName(command, i)}\` = 0x${arg.text}`);
  }
  const code = call.statusCode === undefined ? '' : ` (${call.statusCode})`;
  const status = describeStatus(call.status, version);
  lines.push(`- status \`${call.status}\`${code}${status ? `: ${status}` : ''}`);
  if (call.index) lines.push(`- index ${call.index.text}`);
  for (const [i, output] of call.outputs.entries())
    lines.push(`- output X${i + 1} = 0x${output.text}`);
  return lines.join('\n');
}

function functionIdText(command: RmiCommand | undefined, numbering: RmiNumbering): string {
  if (command) return `function id ${formatFunctionId(rmiFunctionId(command))}, ${numbering.label}`;
  if (!numbering.functionIdsKnown) return `function id not known for ${numbering.label}`;
  return `not a command of ${numbering.label}`;
}
