import * as vscode from 'vscode';
import { passwordSecretKey, type ConsoleManager } from './manager';
import { uarts, type Uart } from './settings';
import type { ConsoleTaskProvider } from './tasks';

export const consoleCommandIds = {
  openConsoles: 'ccaRealmStudio.openConsoles',
  openConsoleLog: 'ccaRealmStudio.openConsoleLog',
  sendToConsole: 'ccaRealmStudio.sendToConsole',
  setConsolePassword: 'ccaRealmStudio.setConsolePassword',
  // For other features and tests; not in the Command Palette.
  sendLine: 'ccaRealmStudio.consoles.sendLine',
  waitFor: 'ccaRealmStudio.consoles.waitFor',
  output: 'ccaRealmStudio.consoles.output',
} as const;

/** Registers the console commands. */
export function registerConsoleCommands(
  manager: ConsoleManager,
  tasks: ConsoleTaskProvider,
  secrets: vscode.SecretStorage,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(consoleCommandIds.openConsoles, async () => {
      // Connect first, so that nothing the board prints while the terminals open is lost;
      // each task's terminal then shows the console's output from the start.
      for (const target of manager.defaultTargets()) manager.open(target);
      for (const uart of uarts) await vscode.tasks.executeTask(tasks.taskFor(uart));
    }),
    vscode.commands.registerCommand(consoleCommandIds.openConsoleLog, async (uart?: Uart) => {
      const chosen = uart ?? (await pickUart('Open the log of which console?'));
      const target = manager.defaultTargets().find((t) => t.uart === chosen);
      if (!target) return;
      try {
        await vscode.window.showTextDocument(vscode.Uri.file(target.logFile), { preview: false });
      } catch {
        void vscode.window.showWarningMessage(
          `No log yet for ${target.label}: ${target.logFile} is created when the console connects.`,
        );
      }
    }),
    vscode.commands.registerCommand(consoleCommandIds.sendToConsole, async () => {
      const uart = await pickUart('Send a line to which console?');
      if (!uart) return;
      const line = await vscode.window.showInputBox({ prompt: `Line to send to ${uart}` });
      if (line === undefined) return;
      sendLineOrWarn(manager, uart, line);
    }),
    // Other features (and tests) may pass the password; users type it into a password box.
    vscode.commands.registerCommand(
      consoleCommandIds.setConsolePassword,
      async (given?: string) => {
        const password =
          typeof given === 'string'
            ? given
            : await vscode.window.showInputBox({
                prompt: 'Password of the normal-world console user (kept in VS Code SecretStorage)',
                password: true,
              });
        if (password === undefined) return;
        await secrets.store(passwordSecretKey, password);
        if (typeof given !== 'string') {
          void vscode.window.showInformationMessage('Console password stored.');
        }
      },
    ),
    vscode.commands.registerCommand(consoleCommandIds.sendLine, (key: string, line: string) =>
      manager.sendLine(key, line),
    ),
    vscode.commands.registerCommand(
      consoleCommandIds.waitFor,
      (key: string, pattern: string, timeoutMs: number = 30_000, includeRecent: boolean = true) =>
        manager.waitFor(key, new RegExp(pattern, 'm'), timeoutMs, includeRecent),
    ),
    vscode.commands.registerCommand(
      consoleCommandIds.output,
      (key: string) => manager.get(key)?.output,
    ),
  ];
}

function sendLineOrWarn(manager: ConsoleManager, uart: Uart, line: string): void {
  try {
    manager.sendLine(uart, line);
  } catch (error) {
    void vscode.window.showWarningMessage(error instanceof Error ? error.message : String(error));
  }
}

async function pickUart(title: string): Promise<Uart | undefined> {
  const picked = await vscode.window.showQuickPick([...uarts], { title });
  return picked as Uart | undefined;
}
