import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { BuildTracker, type BuildPlan } from '../../core/stack/build-progress';
import {
  bootCommand,
  buildAllArgv,
  componentBuildArgv,
  containerBuildCommand,
  containerName,
  inContainerCommand,
  listBuildComponents,
  repoInitArgv,
  repoSyncArgv,
  rmmRebuildArgvs,
  type BootMode,
  type CommandSpec,
} from '../../core/stack/commands';
import { locateFvp, FvpNotFoundError } from '../../core/stack/fvp';
import {
  fvpBinaryName,
  processRecordFile,
  stackLayout,
  stepLogFile,
  type StackLayout,
} from '../../core/stack/layout';
import { modificationsStatus } from '../../core/stack/modifications';
import { checkPrerequisites, type PrerequisiteResult } from '../../core/stack/prerequisites';
import { stopRecordedProcess } from '../../core/stack/processes';
import { BootTracker, RepoSyncTracker } from '../../core/stack/progress';
import { StepRecords, type StackStateStore } from '../../core/stack/records';
import { loggingExecRunner } from '../../core/stack/runner';
import { detectStackState } from '../../core/stack/state';
import {
  stepTitles,
  unmetDependencies,
  type StepId,
  type StepStatus,
} from '../../core/stack/steps';
import type { ConsoleManager } from '../consoles/manager';
import { readStackSettings, type StackSettings } from './settings';
import { describeFailure, runStepTask, stackTaskType, type StepTaskRun } from './step-task';

const stateKey = 'ccaRealmStudio.stack.state';
const prerequisitesKey = 'ccaRealmStudio.stack.prerequisites';

/** A build target: the whole stack, the RMM and then fip.bin, or one component. */
export type BuildChoice =
  | { kind: 'all'; command?: 'all' | 'build' | 'package' | 'clean' }
  | { kind: 'rmm' }
  | { kind: 'component'; component: string; command?: 'prepare' | 'build' | 'package' | 'clean' };

/** Raised when a step cannot start, with a message for the user. */
export class StepError extends Error {}

/**
 * Runs the stack's steps and keeps their state: detected from disk and running processes, with
 * the last run's time, duration, log and error kept in the workspace state.
 */
export class StackController implements vscode.Disposable {
  private readonly records: StepRecords;
  private readonly running = new Map<StepId, StepTaskRun>();
  private statuses: Record<StepId, StepStatus> | undefined;
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly consoles: ConsoleManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const store: StackStateStore = {
      load: () => context.workspaceState.get(stateKey),
      save: (value) => context.workspaceState.update(stateKey, value),
    };
    this.records = new StepRecords(store);
  }

  dispose(): void {
    // Builds and downloads stop with the window; the FVP is left running for the next window,
    // which finds it through its process record.
    for (const [step, run] of this.running) if (step !== 'boot') void run.stop();
    this.changeEmitter.dispose();
  }

  /** Returns the settings and the stack layout they give. */
  settings(): { settings: StackSettings; layout: StackLayout } {
    const settings = readStackSettings();
    return { settings, layout: stackLayout(settings.root) };
  }

  /** Returns the latest prerequisite results, kept across reloads. */
  prerequisites(): PrerequisiteResult[] | undefined {
    return this.context.workspaceState.get<PrerequisiteResult[]>(prerequisitesKey);
  }

  /** Returns the steps' states from the last refresh. */
  current(): Record<StepId, StepStatus> | undefined {
    return this.statuses;
  }

  /** Detects every step's state again and notifies the views. */
  async refresh(): Promise<Record<StepId, StepStatus>> {
    const { settings, layout } = this.settings();
    const statuses = await detectStackState({
      layout,
      docker: settings.docker,
      image: settings.image,
      records: this.records,
      prerequisites: this.prerequisites(),
      exec: loggingExecRunner(this.log),
      modificationsApplied: async () => {
        const status = await modificationsStatus(layout.root, settings.shareDir);
        const missing = status.filter((item) => item.state !== 'applied');
        return {
          applied: missing.length === 0,
          detail: missing.map((item) => `${item.file}: ${item.detail}`).join('; ') || undefined,
        };
      },
    });
    for (const step of this.running.keys()) {
      statuses[step] = { ...statuses[step], state: 'running', reason: 'running' };
    }
    this.statuses = statuses;
    this.changeEmitter.fire();
    return statuses;
  }

  /** Returns whether a step's task runs in this window. */
  isRunning(step: StepId): boolean {
    return this.running.has(step);
  }

  /** Returns the step's log file. */
  logFile(step: StepId): string {
    return stepLogFile(this.settings().layout, step);
  }

  /** Checks the host and records the results. */
  async checkPrerequisites(): Promise<PrerequisiteResult[]> {
    const { settings } = this.settings();
    return this.track('prerequisites', async () => {
      const results = await checkPrerequisites({
        stackRoot: settings.root,
        docker: settings.docker,
        fvpDir: settings.fvpDir,
        minFreeBytes: settings.minFreeBytes,
        exec: loggingExecRunner(this.log),
      });
      await this.context.workspaceState.update(prerequisitesKey, results);
      const failed = results.filter((result) => !result.ok);
      for (const result of results) {
        const line = `${result.ok ? 'ok' : 'FAILED'} ${result.title}: ${result.detail}`;
        if (result.ok) this.log.info(`Prerequisites: ${line}`);
        else this.log.warn(`Prerequisites: ${line}${result.fix ? ` Fix: ${result.fix}` : ''}`);
      }
      if (failed.length > 0) {
        throw new StepError(failed.map((result) => `${result.title}: ${result.detail}`).join('; '));
      }
      return results;
    });
  }

  /** Builds the container image with Arm's container.sh. */
  async buildContainer(): Promise<void> {
    const { settings } = this.settings();
    const spec = containerBuildCommand({ dockerRepo: settings.dockerRepo, image: settings.image });
    await this.runTask('container', 'Build the container image', [spec]);
  }

  /** Runs `repo init` when the stack has no `.repo/` yet, then `repo sync`; a rerun resumes. */
  async download(): Promise<void> {
    const { settings, layout } = this.settings();
    mkdirSync(layout.root, { recursive: true });
    const commands: CommandSpec[] = [];
    const inContainer = (argv: string[], tty: boolean): CommandSpec =>
      inContainerCommand({
        docker: settings.docker,
        image: settings.image,
        stackRoot: layout.root,
        argv,
        tty,
        user: settings.containerUser,
        name: containerName('download'),
      });
    const initialised = await vscode.workspace.fs.stat(vscode.Uri.file(layout.repoDir)).then(
      () => true,
      () => false,
    );
    if (!initialised) commands.push(inContainer(repoInitArgv(settings), false));
    commands.push(inContainer(repoSyncArgv(settings.jobs), true));

    const tracker = new RepoSyncTracker();
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'repo sync' },
      async (progress) => {
        let shown = 0;
        await this.runTask('download', 'Download the stack', commands, {
          onLine: (line) => {
            const event = tracker.push(line);
            if (event?.type === 'progress') {
              const { phase, percent, done, total } = event.progress;
              progress.report({ message: `${phase} ${done}/${total}`, increment: percent - shown });
              shown = percent;
            }
          },
          failure: () => tracker.failureSummary(),
        });
      },
    );
  }

  /** Builds the stack, the RMM and fip.bin, or one component, inside the container. */
  async build(choice: BuildChoice = { kind: 'all' }): Promise<void> {
    const { settings, layout } = this.settings();
    let argvs: string[][];
    let plan: BuildPlan | undefined;
    let title: string;
    if (choice.kind === 'all') {
      const command = choice.command ?? 'all';
      argvs = [buildAllArgv(layout, command)];
      plan = { components: await listBuildComponents(layout), command };
      title = `Build the stack (${command})`;
    } else if (choice.kind === 'rmm') {
      argvs = rmmRebuildArgvs(layout);
      title = 'Rebuild the RMM and fip.bin';
    } else {
      const command = choice.command ?? 'build';
      argvs = [componentBuildArgv(layout, choice.component, command)];
      title = `Build ${choice.component} (${command})`;
    }
    // The modified buildroot script lays these folders over the two root file systems.
    const overlays = [settings.realmOverlay, settings.normalWorldOverlay].filter((folder) =>
      existsSync(folder),
    );
    const commands = argvs.map((argv) =>
      inContainerCommand({
        docker: settings.docker,
        image: settings.image,
        stackRoot: layout.root,
        argv,
        user: settings.containerUser,
        name: containerName('build'),
        mounts: overlays,
        env: {
          REALM_OVERLAY_DIR: settings.realmOverlay,
          NORMAL_WORLD_OVERLAY_DIR: settings.normalWorldOverlay,
        },
      }),
    );
    const tracker = new BuildTracker(layout.root, plan);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title },
      async (progress) => {
        let shown = 0;
        await this.runTask('build', title, commands, {
          problemMatchers: ['$cca-build', '$cca-make'],
          definition: { type: stackTaskType, step: choice.kind === 'rmm' ? 'rebuildRmm' : 'build' },
          onLine: (line) => {
            const event = tracker.push(line);
            if (event?.type !== 'step') return;
            const percent = tracker.percent();
            const message = `${event.component} ${event.command} ${event.phase}`;
            if (percent === undefined) progress.report({ message });
            else {
              progress.report({ message, increment: percent - shown });
              shown = percent;
            }
          },
          failure: () => tracker.firstError(),
        });
      },
    );
  }

  /**
   * Starts the FVP with boot.sh. In `shell` mode it resolves once the FVP announced its ports
   * (the consoles then connect to them) and the FVP keeps running as the boot step; in
   * `validate` mode it resolves when boot.sh has checked every world.
   */
  async boot(mode: BootMode = 'shell'): Promise<BootTracker> {
    const { settings, layout } = this.settings();
    let fvp;
    try {
      fvp = await locateFvp({ fvpDir: settings.fvpDir, env: process.env, home: os.homedir() });
    } catch (error) {
      if (error instanceof FvpNotFoundError) throw new StepError(`${error.message} ${error.fix}`);
      throw error;
    }
    const tracker = new BootTracker();
    const spec = bootCommand(layout, mode, fvp.variable);
    let announced!: () => void;
    const portsKnown = new Promise<void>((resolve) => (announced = resolve));
    const run = this.runTask('boot', `Boot the FVP (${mode})`, [spec], {
      recordFile: processRecordFile(layout, 'boot'),
      match: fvpBinaryName,
      onLine: (line) => {
        const event = tracker.push(line);
        if (event?.type === 'port') {
          this.consoles.pushFvpOutput(
            `${event.terminal}: Listening for serial connection on port ${event.port}\n`,
          );
          if (tracker.ports.entries().length >= 4) announced();
        }
      },
      failure: () => tracker.errors[0],
    });
    if (mode === 'validate') {
      await run;
      return tracker;
    }
    await Promise.race([portsKnown, run]);
    // The FVP keeps running; its end is recorded by runTask and shown in the tree.
    run.catch((error: unknown) => this.log.warn(`FVP: ${String(error)}`));
    if (tracker.ports.entries().length < 4) {
      throw new StepError(tracker.errors[0] ?? 'The FVP stopped before it opened its consoles.');
    }
    await vscode.commands.executeCommand('ccaRealmStudio.openConsoles');
    return tracker;
  }

  /**
   * Stops a step. For boot this stops the FVP's process group, also when an earlier window
   * started it, so that nothing is left running.
   */
  async stop(step: StepId): Promise<void> {
    const run = this.running.get(step);
    if (run) await run.stop();
    if (step === 'boot') {
      const { layout } = this.settings();
      await stopRecordedProcess(processRecordFile(layout, 'boot'), { logger: this.log });
      for (const uart of ['terminal_0', 'terminal_1', 'terminal_2', 'terminal_3']) {
        await this.consoles.close(uart);
      }
      for (const later of ['realm', 'inference'] as const) {
        if (this.records.get(later)?.state === 'running') {
          await this.records.set(later, { ...this.records.get(later), state: 'notDone' });
        }
      }
    }
    await this.refresh();
  }

  /** Records a step's run around `work`: running, then done or failed with its error. */
  async track<T>(step: StepId, work: () => Promise<T>, logFile?: string): Promise<T> {
    const started = Date.now();
    await this.records.started(step, logFile ?? this.logFile(step));
    this.changeEmitter.fire();
    try {
      const result = await work();
      await this.records.finished(step, { durationMs: Date.now() - started });
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.records.finished(step, { durationMs: Date.now() - started, error: message });
      throw error;
    } finally {
      await this.refresh();
    }
  }

  /** Marks a long-lived step (the realm, the service) as running without a task of its own. */
  async markRunning(step: StepId): Promise<void> {
    await this.records.set(step, {
      ...this.records.get(step),
      state: 'running',
      lastRun: new Date().toISOString(),
    });
    await this.refresh();
  }

  /** Refuses a step whose dependencies are not done, naming them. */
  checkDependencies(step: StepId): void {
    const states = Object.fromEntries(
      Object.entries(this.statuses ?? {}).map(([id, status]) => [id, status.state]),
    );
    const unmet = unmetDependencies(step, states);
    if (unmet.length > 0) {
      throw new StepError(
        `${stepTitles[step]} needs ${unmet.map((id) => stepTitles[id]).join(', ')} first.`,
      );
    }
  }

  private async runTask(
    step: StepId,
    title: string,
    commands: CommandSpec[],
    options: {
      onLine?: (line: string) => void;
      failure?: () => string | undefined;
      problemMatchers?: string[];
      definition?: vscode.TaskDefinition;
      recordFile?: string;
      match?: string;
    } = {},
  ): Promise<void> {
    if (this.running.has(step)) throw new StepError(`${stepTitles[step]} is already running.`);
    const logFile = this.logFile(step);
    mkdirSync(path.dirname(logFile), { recursive: true });
    await this.track(
      step,
      async () => {
        const run = await runStepTask({
          name: title,
          definition: options.definition ?? { type: stackTaskType, step },
          commands,
          problemMatchers: options.problemMatchers,
          logFile,
          recordFile: options.recordFile,
          match: options.match,
          logger: this.log,
          onLine: (line) => options.onLine?.(line),
        });
        this.running.set(step, run);
        this.changeEmitter.fire();
        try {
          const result = await run.done;
          // A step the user stopped did not fail; its state comes from what is on disk.
          if (result.code !== 0 && !result.stopped) {
            const detail = options.failure?.();
            throw new StepError(
              `${title} ${describeFailure(result)}${detail ? `: ${detail}` : ''} (log: ${logFile})`,
            );
          }
        } finally {
          this.running.delete(step);
        }
      },
      logFile,
    );
  }
}
