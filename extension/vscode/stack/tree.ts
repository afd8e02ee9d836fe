import * as vscode from 'vscode';
import type { PrerequisiteResult } from '../../core/stack/prerequisites';
import {
  stepOrder,
  stepTitles,
  type StepId,
  type StepState,
  type StepStatus,
} from '../../core/stack/steps';
import type { StackController } from './controller';
import type { RealmEntry } from './realm';

/** A node of the Stack view: a step, or one prerequisite check under its step. */
export type StackNode =
  { kind: 'step'; id: StepId } | { kind: 'check'; result: PrerequisiteResult };

const stateIcons: Record<StepState, vscode.ThemeIcon> = {
  notDone: new vscode.ThemeIcon('circle-large-outline'),
  running: new vscode.ThemeIcon('sync~spin'),
  done: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  outOfDate: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
};

const stateLabels: Record<StepState, string> = {
  notDone: 'not done',
  running: 'running',
  done: 'done',
  failed: 'failed',
  outOfDate: 'out of date',
};

/** Formats a duration in milliseconds as `850 ms`, `42 s` or `1 h 05 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** The Stack view: one node per step with its state, last run and duration. */
export class StackTree implements vscode.TreeDataProvider<StackNode> {
  private readonly changeEmitter = new vscode.EventEmitter<StackNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly controller: StackController) {
    controller.onDidChange(() => this.changeEmitter.fire(undefined));
  }

  getChildren(node?: StackNode): StackNode[] {
    if (!node) return stepOrder.map((id) => ({ kind: 'step', id }));
    if (node.kind === 'step' && node.id === 'prerequisites') {
      return (this.controller.prerequisites() ?? []).map((result) => ({ kind: 'check', result }));
    }
    return [];
  }

  getTreeItem(node: StackNode): vscode.TreeItem {
    if (node.kind === 'check') return checkItem(node.result);
    const status: StepStatus = this.controller.current()?.[node.id] ?? {
      id: node.id,
      state: 'notDone',
    };
    const state = this.controller.isRunning(node.id) ? 'running' : status.state;
    const hasChecks =
      node.id === 'prerequisites' && (this.controller.prerequisites()?.length ?? 0) > 0;
    const item = new vscode.TreeItem(
      stepTitles[node.id],
      hasChecks ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `step.${node.id}`;
    item.iconPath = stateIcons[state];
    item.contextValue = `step.${state}.${node.id}`;
    const parts = [stateLabels[state]];
    if (status.lastRun) parts.push(new Date(status.lastRun).toLocaleString());
    if (status.durationMs !== undefined && state !== 'running')
      parts.push(formatDuration(status.durationMs));
    item.description = parts.join(' · ');
    const tooltip = new vscode.MarkdownString(`**${stepTitles[node.id]}**: ${stateLabels[state]}`);
    if (status.reason) tooltip.appendMarkdown(`\n\n${escape(status.reason)}`);
    if (status.lastError) tooltip.appendMarkdown(`\n\nLast error: ${escape(status.lastError)}`);
    if (status.logFile) tooltip.appendMarkdown(`\n\nLog: \`${status.logFile}\``);
    item.tooltip = tooltip;
    return item;
  }
}

function checkItem(result: PrerequisiteResult): vscode.TreeItem {
  const item = new vscode.TreeItem(result.title);
  item.id = `check.${result.id}`;
  item.iconPath = result.ok
    ? new vscode.ThemeIcon('check', new vscode.ThemeColor('testing.iconPassed'))
    : new vscode.ThemeIcon('close', new vscode.ThemeColor('testing.iconFailed'));
  item.description = result.detail;
  item.contextValue = 'check';
  const tooltip = new vscode.MarkdownString(escape(result.detail));
  if (result.fix) tooltip.appendMarkdown(`\n\n**Fix:** ${escape(result.fix)}`);
  item.tooltip = tooltip;
  return item;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+!|<>]/g, (c) => `\\${c}`);
}

/** The Realms view: the realms started from this window, with their console. */
export class RealmsTree implements vscode.TreeDataProvider<RealmEntry> {
  private readonly changeEmitter = new vscode.EventEmitter<RealmEntry | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly realms: () => RealmEntry[]) {}

  refresh(): void {
    this.changeEmitter.fire(undefined);
  }

  getChildren(entry?: RealmEntry): RealmEntry[] {
    return entry ? [] : this.realms().filter((realm) => realm.state !== 'stopped');
  }

  getTreeItem(entry: RealmEntry): vscode.TreeItem {
    const item = new vscode.TreeItem(entry.guestName ?? entry.profile);
    item.description = `${entry.profile} · ${entry.state} · on ${entry.console}`;
    item.iconPath = new vscode.ThemeIcon(entry.state === 'failed' ? 'error' : 'vm-running');
    item.contextValue = entry.state === 'failed' ? 'realm.failed' : 'realm';
    item.tooltip = entry.detail ?? `Started ${new Date(entry.startedAt).toLocaleString()}`;
    item.command = {
      title: 'Open Realm Console',
      command: 'ccaRealmStudio.realms.openConsole',
      arguments: [entry],
    };
    return item;
  }
}
