import path from 'node:path';
import * as vscode from 'vscode';
import { resolveSettingPath } from '../../core/setting-paths';
import type { ConsoleManager, ConsoleTarget } from './manager';
import { readConsoleSettings, uartRoles, uarts, type Uart } from './settings';
import { ConsoleTerminal } from './terminal';

/** Task type of the consoles, for tasks.json. */
export const consoleTaskType = 'cca-console';

/** A `cca-console` task as written in tasks.json. */
interface ConsoleTaskDefinition extends vscode.TaskDefinition {
  uart?: Uart;
  host?: string;
  port?: number;
  name?: string;
  logFile?: string;
  uartFile?: string;
  autoLogin?: boolean;
}

/** Provides one task per FVP UART and runs `cca-console` tasks from tasks.json. */
export class ConsoleTaskProvider implements vscode.TaskProvider {
  constructor(private readonly manager: ConsoleManager) {}

  provideTasks(): vscode.Task[] {
    return this.manager
      .defaultTargets()
      .map((target) => this.createTask({ type: consoleTaskType, uart: target.uart }, target));
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const definition = task.definition as ConsoleTaskDefinition;
    if (definition.type !== consoleTaskType) return undefined;
    return this.createTask(definition, this.targetOf(definition), task.scope);
  }

  /** Returns the task of a UART as `provideTasks` lists it. */
  taskFor(uart: Uart): vscode.Task {
    const target = this.manager.defaultTargets().find((t) => t.uart === uart);
    if (!target) throw new Error(`Unknown UART ${uart}`);
    return this.createTask({ type: consoleTaskType, uart }, target);
  }

  private targetOf(definition: ConsoleTaskDefinition): ConsoleTarget {
    const settings = readConsoleSettings();
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const uart = definition.uart && uarts.includes(definition.uart) ? definition.uart : undefined;
    const host = definition.host ?? settings.host;
    const key =
      definition.port !== undefined ? `${host}:${definition.port}` : (uart ?? 'terminal_0');
    const label =
      definition.name ??
      (uart ? `${uart} (${uartRoles[uart]})` : `console ${host}:${definition.port}`);
    const logName = key.replace(/[^A-Za-z0-9_.-]/g, '_');
    return {
      key,
      label,
      host,
      port: definition.port,
      uart: definition.port === undefined ? (uart ?? 'terminal_0') : uart,
      logFile: definition.logFile
        ? resolveSettingPath(definition.logFile, base)
        : path.join(settings.logFolder, `${logName}.log`),
      uartFile: definition.uartFile ? resolveSettingPath(definition.uartFile, base) : undefined,
      autoLogin: definition.autoLogin ?? (uart === 'terminal_0' && settings.autoLogin),
    };
  }

  private createTask(
    definition: ConsoleTaskDefinition,
    target: ConsoleTarget,
    scope: vscode.TaskScope | vscode.WorkspaceFolder = vscode.TaskScope.Workspace,
  ): vscode.Task {
    const task = new vscode.Task(
      definition,
      scope,
      target.label,
      'CCA',
      new vscode.CustomExecution(() => Promise.resolve(new ConsoleTerminal(this.manager, target))),
    );
    task.isBackground = true;
    task.presentationOptions = {
      reveal: vscode.TaskRevealKind.Always,
      panel: vscode.TaskPanelKind.Dedicated,
      focus: false,
      clear: false,
    };
    return task;
  }
}
