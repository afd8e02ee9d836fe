import * as vscode from 'vscode';
import { offerRmmRebuild } from './rebuild';
import { requireTrust } from '../trust';
import { planToggle } from '../../core/rmm/handler-editor';
import { parseHandlerTable, type HandlerEntry } from '../../core/rmm/handler-table';

/** An RMI command of the handler table, with a checkbox for its `log_exec` flag. */
class CommandItem extends vscode.TreeItem {
  constructor(readonly entry: HandlerEntry) {
    super(entry.command, vscode.TreeItemCollapsibleState.None);
    this.checkboxState = entry.logExec
      ? vscode.TreeItemCheckboxState.Checked
      : vscode.TreeItemCheckboxState.Unchecked;
    const logError = `log_error ${entry.logError ? 'on' : 'off'}`;
    this.description = logError;
    this.tooltip = `Checked: every ${entry.command} call is logged on the RMM console (log_exec).`;
    // Without this, screen readers read the tooltip, which starts with "Checked" on every row.
    this.accessibilityInformation = {
      label: `${entry.command}, log_exec ${entry.logExec ? 'on' : 'off'}, ${logError}`,
    };
  }
}

/**
 * The "RMI Logging" tree: a checkbox per RMI command of the workspace's handler.c, kept in
 * step with the file in both directions. Checking a box edits only that entry's `log_exec`.
 */
export class RmiLoggingTree implements vscode.TreeDataProvider<CommandItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private handlerFile: vscode.Uri | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/runtime/core/handler.c');
    this.subscriptions.push(
      watcher,
      watcher.onDidChange(() => this.changeEmitter.fire()),
      watcher.onDidCreate(() => this.changeEmitter.fire()),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document.uri.path.endsWith('/runtime/core/handler.c')) this.changeEmitter.fire();
      }),
    );
  }

  /** Registers the view and its checkbox handling. */
  register(): vscode.Disposable {
    const view = vscode.window.createTreeView('ccaRealmStudio.rmiLogging', {
      treeDataProvider: this,
      manageCheckboxStateManually: true,
    });
    view.onDidChangeCheckboxState(
      (event) =>
        void this.setLogExec(
          event.items.map(([item, state]) => ({
            command: item.entry.command,
            logExec: state === vscode.TreeItemCheckboxState.Checked,
          })),
        ),
    );
    // For other features and tests: the tree's state, and the same edit as a checkbox.
    const state = vscode.commands.registerCommand('ccaRealmStudio.rmi.treeState', async () =>
      (await this.getChildren()).map((item) => ({
        command: item.entry.command,
        checked: item.checkboxState === vscode.TreeItemCheckboxState.Checked,
      })),
    );
    const set = vscode.commands.registerCommand(
      'ccaRealmStudio.rmi.setLogExec',
      (command: string, logExec: boolean) => this.setLogExec([{ command, logExec }]),
    );
    return vscode.Disposable.from(view, state, set);
  }

  /** Reads handler.c again, looking for it first when none was found yet. */
  refresh(): void {
    this.changeEmitter.fire();
  }

  getTreeItem(item: CommandItem): vscode.TreeItem {
    return item;
  }

  async getChildren(): Promise<CommandItem[]> {
    const document = await this.openHandler();
    if (!document) return [];
    const table = parseHandlerTable(document.getText());
    if (table.kind !== 'table') {
      this.log.warn(`${document.uri.fsPath}: RMI handler table not understood: ${table.message}`);
      return [];
    }
    return table.entries.map((entry) => new CommandItem(entry));
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changeEmitter.dispose();
  }

  private async openHandler(): Promise<vscode.TextDocument | undefined> {
    if (!this.handlerFile) {
      const [found] = await vscode.workspace.findFiles(
        '**/rmm/runtime/core/handler.c',
        '**/node_modules/**',
        1,
      );
      this.handlerFile = found;
    }
    return this.handlerFile ? vscode.workspace.openTextDocument(this.handlerFile) : undefined;
  }

  /** Sets `log_exec` of commands in handler.c as one undoable edit; returns whether it applied. */
  private async setLogExec(changes: { command: string; logExec: boolean }[]): Promise<boolean> {
    if (!requireTrust('Changing RMI logging in handler.c')) {
      this.changeEmitter.fire();
      return false;
    }
    const document = await this.openHandler();
    if (!document) return false;
    const table = parseHandlerTable(document.getText());
    if (table.kind !== 'table') {
      void vscode.window.showErrorMessage(`handler.c was not changed: ${table.message}`);
      return false;
    }
    const edits = planToggle(table, changes);
    const edit = new vscode.WorkspaceEdit();
    for (const change of edits) {
      const range = new vscode.Range(
        new vscode.Position(change.startPosition.line, change.startPosition.character),
        new vscode.Position(change.endPosition.line, change.endPosition.character),
      );
      edit.replace(document.uri, range, change.newText);
    }
    // One WorkspaceEdit, so one undo reverts the whole change.
    if (!(await vscode.workspace.applyEdit(edit))) return false;
    this.log.info(
      `handler.c: log_exec ${changes.map((c) => `${c.command}=${c.logExec}`).join(', ')}`,
    );
    void offerRmmRebuild(this.log);
    this.changeEmitter.fire();
    return true;
  }
}
