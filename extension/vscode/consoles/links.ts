import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { findHandlerEntry, findRmiCommands } from '../../core/rmm/handler-entry';

/** A link in a console line: an RMI command name or a file path. */
interface ConsoleLink extends vscode.TerminalLink {
  target: { kind: 'rmi'; command: string } | { kind: 'file'; path: string; line?: number };
}

// An absolute path, optionally with `:line`, as compilers and logs print them.
const pathPattern = /(?<![\w/])(\/[\w.+-]+(?:\/[\w.+-]+)+)(?::(\d+))?/g;

/**
 * Turns RMI command names on the consoles into links to their entry in the RMM's
 * `runtime/core/handler.c`, and existing absolute file paths into links to the file.
 */
export class ConsoleLinkProvider implements vscode.TerminalLinkProvider<ConsoleLink> {
  constructor(private readonly isConsole: (terminal: vscode.Terminal) => boolean) {}

  provideTerminalLinks(context: vscode.TerminalLinkContext): ConsoleLink[] {
    if (!this.isConsole(context.terminal)) return [];
    const links: ConsoleLink[] = [];
    // `SMC_RMM_REC_CREATE` (TF-RMM up to v0.5.0) or `SMC_RMI_REC_CREATE` (v0.6.0 and later).
    for (const command of findRmiCommands(context.line)) {
      links.push({
        startIndex: command.start,
        length: command.length,
        tooltip: `Open ${command.name} in handler.c`,
        target: { kind: 'rmi', command: command.name },
      });
    }
    for (const match of context.line.matchAll(pathPattern)) {
      const file = match[1] ?? '';
      if (!existsSync(file)) continue;
      links.push({
        startIndex: match.index,
        length: match[0].length,
        tooltip: 'Open file',
        target: { kind: 'file', path: file, line: match[2] ? Number(match[2]) : undefined },
      });
    }
    return links;
  }

  async handleTerminalLink(link: ConsoleLink): Promise<void> {
    if (link.target.kind === 'file') {
      await openAt(vscode.Uri.file(link.target.path), (link.target.line ?? 1) - 1);
      return;
    }
    const handlerFile = await findHandlerFile();
    if (!handlerFile) {
      void vscode.window.showInformationMessage(
        'No rmm/runtime/core/handler.c in the workspace; open the rme-stack folder to follow RMI links.',
      );
      return;
    }
    const text = (await vscode.workspace.fs.readFile(handlerFile)).toString();
    await openAt(handlerFile, findHandlerEntry(text, link.target.command) ?? 0);
  }
}

async function findHandlerFile(): Promise<vscode.Uri | undefined> {
  const [found] = await vscode.workspace.findFiles(
    '**/rmm/runtime/core/handler.c',
    '**/node_modules/**',
    1,
  );
  return found;
}

async function openAt(uri: vscode.Uri, line: number): Promise<void> {
  const position = new vscode.Position(Math.max(0, line), 0);
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(position, position) });
}
