import * as vscode from 'vscode';
import type { LineKind } from '../../core/stack/progress';
import type { CommandSpec } from '../../core/stack/commands';
import { formatCommandLine } from '../../core/stack/commands';
import { startCommand, type RunResult, type RunningCommand } from '../../core/stack/runner';
import type { Logger } from '../../core/log';

/** Task type of the stack's steps, whose definition names the step (see package.json). */
export const stackTaskType = 'cca-stack';

/** What a step runs in its task terminal. */
export interface StepTaskOptions {
  /** The task's name, shown as the terminal's title. */
  name: string;
  /** The task definition; `step` names the stack step. */
  definition: vscode.TaskDefinition;
  /** Commands run one after the other; the first that fails ends the task. */
  commands: readonly CommandSpec[];
  /** Problem matchers that read the terminal's output, such as `$cca-build`. */
  problemMatchers?: string[];
  /** Appends every command line and byte of output here. */
  logFile: string;
  /** Records the running process group here, so that a reload still finds it. */
  recordFile?: string;
  /** A text in the main process's command line, kept in the record (such as the FVP's name). */
  match?: string;
  logger: Logger;
  /** Receives each output line (and `\r` progress update) of every command. */
  onLine?: (line: string, kind: LineKind) => void;
  /** Receives each chunk of output as it arrives. */
  onOutput?: (text: string) => void;
}

/** A step's task while it runs. */
export interface StepTaskRun {
  /** Resolves with the last command's result once the task has ended. */
  readonly done: Promise<RunResult>;
  /** Stops the running command's process group; the task then ends. */
  stop(): Promise<void>;
}

/**
 * Runs a step's commands as a VS Code task whose Pseudoterminal shows their output, so that
 * problem matchers read it and the user can watch it. Output goes to the log file as well,
 * whether or not the terminal is open.
 */
export async function runStepTask(options: StepTaskOptions): Promise<StepTaskRun> {
  let current: RunningCommand | undefined;
  let stopped = false;
  let settle!: (result: RunResult) => void;
  const done = new Promise<RunResult>((resolve) => (settle = resolve));

  const writer = new vscode.EventEmitter<string>();
  const closer = new vscode.EventEmitter<number>();
  const show = (text: string): void => writer.fire(text.replace(/\r?\n/g, '\r\n'));

  const run = async (): Promise<void> => {
    let result: RunResult = { code: 0, signal: null, durationMs: 0, stopped: false };
    for (const spec of options.commands) {
      if (stopped) break;
      show(`\x1b[1m$ ${formatCommandLine([spec.command, ...spec.args])}\x1b[0m\n`);
      current = startCommand(spec, {
        logFile: options.logFile,
        recordFile: options.recordFile,
        match: options.match,
        label: options.name,
        logger: options.logger,
        onOutput: (text) => {
          show(text);
          options.onOutput?.(text);
        },
        onLine: (line, _stream, kind) => options.onLine?.(line, kind),
      });
      result = await current.exited;
      if (result.error) show(`\n${result.error}\n`);
      if (result.code !== 0) break;
    }
    const status = result.code === 0 ? 'finished' : describeFailure(result);
    show(`\n\x1b[2m${options.name}: ${status}\x1b[0m\n`);
    settle(result);
    closer.fire(result.code ?? 1);
  };

  const pty: vscode.Pseudoterminal = {
    onDidWrite: writer.event,
    onDidClose: closer.event,
    open: () => void run(),
    close: () => {
      // Closing the terminal stops the step, as Ctrl+C would.
      stopped = true;
      void current?.stop();
    },
    handleInput: (data) => {
      if (data === '\x03') {
        stopped = true;
        void current?.stop();
      }
    },
  };
  const task = new vscode.Task(
    options.definition,
    vscode.TaskScope.Workspace,
    options.name,
    'CCA stack',
    new vscode.CustomExecution(() => Promise.resolve(pty)),
    options.problemMatchers ?? [],
  );
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
  await vscode.tasks.executeTask(task);

  return {
    done: done.finally(() => {
      writer.dispose();
      closer.dispose();
    }),
    stop: async () => {
      stopped = true;
      await current?.stop();
    },
  };
}

/** Describes how a command that did not succeed ended. */
export function describeFailure(result: RunResult): string {
  if (result.error) return result.error;
  if (result.stopped) return 'stopped';
  if (result.signal) return `ended by ${result.signal}`;
  return `failed with exit code ${result.code}`;
}
