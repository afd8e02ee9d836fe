import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { silentLogger, type Logger } from '../log';
import { outputFileName, signallingFileName } from '../protocol/client';

export interface EmulatedRealmOptions {
  /** The emulated realm's entry script (dist/emulated-realm.js or out/cli/emulated-realm.js). */
  script: string;
  model: string;
  labels: string;
  sharedDir: string;
  /** Exit after this many images, as the realm binary's `-N`; runs until stopped without it. */
  imageCount?: number;
  /** Poll the signalling file at this interval instead of waiting on file events. */
  pollMs?: number;
  /** A file that receives each image's step durations as a JSON line (`--timings`). */
  timingsFile?: string;
  /**
   * The Node.js binary; VS Code's Electron needs ELECTRON_RUN_AS_NODE, which is set here.
   * NOTE: tested with Node.js (code-server's extension host), not with desktop Electron.
   */
  nodePath?: string;
  log?: Logger;
}

/** A running emulated realm process. */
export interface EmulatedRealm {
  readonly pid: number | undefined;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Returns a message once the process has exited, for the client's realm check. */
  readonly status: () => string | undefined;
  /** Stops the process (SIGTERM, then SIGKILL after a grace period) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts the emulated realm with stdout and stderr redirected to output.txt in the shared
 * folder, as the realm's start script does with `> output.txt 2>&1`. Unlike that script, it
 * appends rather than truncates, so an earlier run's log survives; the client reads from the
 * offset where each image's output starts.
 */
export function startEmulatedRealm(options: EmulatedRealmOptions): EmulatedRealm {
  const log = options.log ?? silentLogger;
  const args = [
    options.script,
    '-l',
    options.labels,
    '-m',
    options.model,
    '-S',
    path.join(options.sharedDir, signallingFileName),
    '-x',
    '1',
  ];
  if (options.imageCount !== undefined) args.push('-N', String(options.imageCount));
  if (options.pollMs !== undefined) args.push('--poll-ms', String(options.pollMs));
  if (options.timingsFile !== undefined) args.push('--timings', options.timingsFile);
  // A client killed without cleanup must not leave its realm running.
  args.push('--parent-pid', String(process.pid));

  const outputFd = openSync(path.join(options.sharedDir, outputFileName), 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.nodePath ?? process.execPath, args, {
      stdio: ['ignore', outputFd, outputFd],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
  } finally {
    closeSync(outputFd);
  }
  log.info(`Emulated realm started (pid ${child.pid ?? 'unknown'}) on ${options.sharedDir}`);

  let exitMessage: string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (error) => {
      exitMessage = `the emulated realm could not start: ${error.message}`;
      log.error(exitMessage);
      resolve('error');
    });
    child.once('exit', (code, signal) => {
      exitMessage = `the emulated realm exited (${signal ?? `code ${code ?? 'unknown'}`})`;
      log.info(`Emulated realm (pid ${child.pid ?? 'unknown'}) exited: ${signal ?? code}`);
      resolve(signal ?? code ?? 'unknown');
    });
  });

  return {
    pid: child.pid,
    exited,
    status: () => exitMessage,
    stop: async () => {
      if (exitMessage !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
