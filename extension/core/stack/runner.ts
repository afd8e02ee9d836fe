// Running the stack's external commands: short checks through execFile, and long steps (repo
// sync, builds, the FVP) as process groups whose output goes to callbacks and a log file.
// A record file per step (processes.ts) keeps the group's ids while it runs.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { silentLogger, type Logger } from '../log';
import { formatCommandLine, type CommandSpec } from './commands';
import {
  processGroupMembers,
  readProcessInfo,
  removeRecord,
  signalGroup,
  waitForGroupExit,
  writeRecord,
} from './processes';
import { LineSplitter, type LineKind } from './progress';

/** The result of a short command run through {@link ExecRunner}. */
export interface ExecResult {
  /** The exit code; null when the command did not start, timed out or died of a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The reason the command did not run to its end: not found, not executable, timed out. */
  error?: string;
  /** The error code of a command that did not start, such as `ENOENT`. */
  errorCode?: string;
  timedOut?: boolean;
}

/** Options of one {@link ExecRunner} call. */
export interface ExecOptions {
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a short command from an argument array and resolves with its output; never rejects. */
export type ExecRunner = (
  command: string,
  args: readonly string[],
  options: ExecOptions,
) => Promise<ExecResult>;

/** The default {@link ExecRunner}: execFile, with no shell, SIGKILL at the timeout. */
export const execFileRunner: ExecRunner = (command, args, options) =>
  new Promise((resolve) => {
    execFile(
      command,
      [...args],
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        cwd: options.cwd,
        env: options.env ?? process.env,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        if (typeof failure.code === 'string') {
          resolve({ code: null, stdout, stderr, error: failure.message, errorCode: failure.code });
        } else if (failure.killed && failure.signal === 'SIGKILL') {
          const error = `${command} did not finish within ${options.timeoutMs} ms`;
          resolve({ code: null, stdout, stderr, error, timedOut: true });
        } else {
          const code = typeof failure.code === 'number' ? failure.code : null;
          resolve({ code, stdout, stderr, error: code === null ? failure.message : undefined });
        }
      },
    );
  });

/**
 * Returns an {@link ExecRunner} that logs each command with its arguments and how it ended,
 * one line per command.
 */
export function loggingExecRunner(logger: Logger, exec: ExecRunner = execFileRunner): ExecRunner {
  return async (command, args, options) => {
    const started = Date.now();
    const result = await exec(command, args, options);
    const how =
      result.error ?? (result.code === 0 ? 'exit code 0' : `exit code ${String(result.code)}`);
    const line = `${formatCommandLine([command, ...args])}: ${how} (${Date.now() - started} ms)`;
    if (result.code === 0) logger.info(line);
    else logger.warn(line);
    return result;
  };
}

/** Resolves true when `promise` settles within `ms`, else false; the timer does not linger. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settle = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settle, settle);
  });
}

/** The end of a command that {@link startCommand} ran. */
export interface RunResult {
  /** The exit code; null when it did not start or died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** The reason the command did not start, such as a missing script. */
  error?: string;
  /** True when {@link RunningCommand.stop} ended it. */
  stopped: boolean;
}

/** Options of {@link startCommand}. */
export interface RunOptions {
  /** Appends the command line, all output and the exit status to this file. */
  logFile?: string;
  /** Writes the process group's record (see processes.ts) here while the command runs. */
  recordFile?: string;
  /** A text that the command line of the step's main process contains, for the record. */
  match?: string;
  /** A name for the log lines, such as the step's id. */
  label?: string;
  logger?: Logger;
  /** Receives each chunk of output as it arrives, decoded as UTF-8. */
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Receives each line without its line end and ANSI escapes, and each `\r`-ended progress
   * update as kind `update`.
   */
  onLine?: (line: string, stream: 'stdout' | 'stderr', kind: LineKind) => void;
}

/** A command started by {@link startCommand}. */
export interface RunningCommand {
  /** The process ID, also its process group's ID; undefined when it did not start. */
  readonly pid: number | undefined;
  readonly startedAt: Date;
  /** Resolves when the command has ended and its output is in the log file. */
  readonly exited: Promise<RunResult>;
  /**
   * Stops the whole process group: SIGTERM (and `spec.stopHooks.term`), then SIGKILL (and
   * `spec.stopHooks.kill`) after `graceMs` (default 5000), and waits until the group is gone.
   */
  stop(graceMs?: number): Promise<RunResult>;
}

/**
 * Starts a command in its own process group (a new session, without a terminal) and streams
 * its output. Every start and end is logged with the command's arguments.
 */
export function startCommand(spec: CommandSpec, options: RunOptions = {}): RunningCommand {
  const log = options.logger ?? silentLogger;
  const label = options.label ?? path.basename(spec.command);
  const argv = [spec.command, ...spec.args];
  const startedAt = new Date();
  const logStream = options.logFile ? openLog(options.logFile) : undefined;
  logStream?.on('error', (error) =>
    log.warn(`${label}: cannot write ${options.logFile}: ${error.message}`),
  );
  logStream?.write(
    `\n=== ${startedAt.toISOString()} ${formatCommandLine(argv)} (in ${spec.cwd})\n`,
  );

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child: ChildProcess = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  log.info(`${label}: started ${formatCommandLine(argv)} in ${spec.cwd} (pid ${pid ?? 'none'})`);

  if (pid !== undefined && options.recordFile) {
    const info = readProcessInfo(pid);
    writeRecord(options.recordFile, {
      pid,
      pgid: pid,
      startTicks: info?.startTicks ?? 0,
      argv,
      cwd: spec.cwd,
      startedAt: startedAt.toISOString(),
      logFile: options.logFile,
      match: options.match,
    });
  }

  for (const stream of ['stdout', 'stderr'] as const) {
    const decoder = new StringDecoder('utf8');
    const splitter = new LineSplitter((line, kind) => options.onLine?.(line, stream, kind));
    const readable = child[stream];
    readable?.on('data', (chunk: Buffer) => {
      logStream?.write(chunk);
      const text = decoder.write(chunk);
      options.onOutput?.(text, stream);
      splitter.push(text);
    });
    readable?.on('end', () => {
      const rest = decoder.end();
      if (rest) options.onOutput?.(rest, stream);
      splitter.push(rest);
      splitter.end();
    });
  }

  let stopRequested = false;
  let ended = false;
  let spawnError: string | undefined;
  const exited = (async (): Promise<RunResult> => {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.on('error', (error) => {
        spawnError ??= `${spec.command} could not start: ${error.message}`;
        if (pid === undefined) resolve([null, null]);
      });
      child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    ended = true;
    const result: RunResult = {
      code,
      signal,
      durationMs: Date.now() - startedAt.getTime(),
      error: spawnError,
      stopped: stopRequested,
    };
    const status = describeEnd(result);
    if (result.error) log.error(`${label}: ${result.error}`);
    else log.info(`${label}: ${status} after ${result.durationMs} ms (pid ${pid ?? 'none'})`);
    if (logStream) {
      logStream.end(`\n=== ${new Date().toISOString()} ${result.error ?? status}\n`);
      await once(logStream, 'close').catch(() => undefined);
    }
    if (pid !== undefined && options.recordFile) removeRecord(options.recordFile, pid);
    return result;
  })();

  const stop = async (graceMs = 5000): Promise<RunResult> => {
    if (pid === undefined) return exited;
    if (ended && processGroupMembers(pid).length === 0) return exited;
    stopRequested = true;
    log.info(`${label}: stopping process group ${pid} (SIGTERM)`);
    signalGroup(pid, 'SIGTERM');
    await runStopHook(spec.stopHooks?.term, log, label);

    const deadline = Date.now() + graceMs;
    const closed = await settlesWithin(exited, graceMs);
    const groupGone = closed && (await waitForGroupExit(pid, Math.max(0, deadline - Date.now())));
    if (!groupGone) {
      log.warn(`${label}: process group ${pid} outlived SIGTERM for ${graceMs} ms; SIGKILL`);
      signalGroup(pid, 'SIGKILL');
      await runStopHook(spec.stopHooks?.kill, log, label);
      // A process that left the group can hold the pipes open; the output ends here then.
      if (!(await settlesWithin(exited, 5000))) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
      await waitForGroupExit(pid, 5000);
    }
    return exited;
  };

  return { pid, startedAt, exited, stop };
}

function openLog(file: string): fs.WriteStream {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return fs.createWriteStream(file, { flags: 'a' });
}

function describeEnd(result: RunResult): string {
  const how = result.signal ? `ended by ${result.signal}` : `exited with code ${result.code}`;
  return result.stopped ? `stopped (${how})` : how;
}

async function runStopHook(
  hook: readonly string[] | undefined,
  log: Logger,
  label: string,
): Promise<void> {
  if (!hook || hook.length === 0) return;
  log.info(`${label}: running ${formatCommandLine(hook)}`);
  const result = await execFileRunner(hook[0], hook.slice(1), { timeoutMs: 15000 });
  if (result.code !== 0) {
    const why = result.error ?? (result.stderr.trim() || `exit code ${result.code}`);
    log.warn(`${label}: ${formatCommandLine(hook)} failed: ${why}`);
  }
}
