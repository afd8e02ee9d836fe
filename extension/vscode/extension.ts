import * as vscode from 'vscode';
import type { EmulatedRealm } from '../core/emulated-realm/launcher';
import type { InferenceContext } from './inference/batch';
import { registerConsoleCommands } from './consoles/commands';
import { ConsoleLinkProvider } from './consoles/links';
import { ConsoleManager } from './consoles/manager';
import { ConsoleTaskProvider, consoleTaskType } from './consoles/tasks';
import { registerInferenceCommands } from './inference/commands';
import { startRmmLanguageClient } from './rmm/language-client';
import { registerAfterEditCommand } from './rmm/rebuild';
import { RmiLoggingTree } from './rmm/logging-tree';
import { registerStack } from './stack/commands';
import { ResultsPanel, resultsViewType } from './inference/results-panel';

const realms = new Set<EmulatedRealm>();

/** Wires the features into VS Code; called on the first use of a command or view. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('CCA Realm Studio', { log: true });
  const baseDir = (): string =>
    vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.globalStorageUri.fsPath;
  const panel = new ResultsPanel(context.extensionUri, baseDir, log);
  const inference: InferenceContext = {
    extensionUri: context.extensionUri,
    log,
    panel,
    baseDir,
    realms,
    secrets: context.secrets,
  };

  const consoles = new ConsoleManager(context.secrets, log);
  const consoleTasks = new ConsoleTaskProvider(consoles);
  const isConsole = (terminal: vscode.Terminal): boolean =>
    /^terminal_\d \(|^console /.test(terminal.name) ||
    consoles.defaultTargets().some((target) => terminal.name.includes(target.label));

  context.subscriptions.push(
    log,
    consoles,
    vscode.tasks.registerTaskProvider(consoleTaskType, consoleTasks),
    vscode.window.registerTerminalLinkProvider(new ConsoleLinkProvider(isConsole)),
    ...registerConsoleCommands(consoles, consoleTasks, context.secrets),
    vscode.window.registerWebviewPanelSerializer(resultsViewType, panel),
    ...registerInferenceCommands(inference),
    { dispose: () => panel.dispose() },
  );
  const stack = registerStack(context, consoles, log);
  const rmiTree = new RmiLoggingTree(log);
  // A download creates handler.c in new folders, whose files a file watcher can miss: each
  // change of the Stack view looks for it again.
  context.subscriptions.push(
    rmiTree,
    rmiTree.register(),
    stack.onDidChange(() => rmiTree.refresh()),
  );
  registerAfterEditCommand(context, log);
  const languageClient = startRmmLanguageClient(context, log);
  context.subscriptions.push({
    dispose: () => void languageClient.then((client) => client.stop()),
  });
  log.info(
    `Activated in ${vscode.env.appName} ${vscode.version} (${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`,
  );
}

/** Stops every realm process still running, so none outlives the extension host. */
export async function deactivate(): Promise<void> {
  await Promise.all([...realms].map((realm) => realm.stop()));
  realms.clear();
}
