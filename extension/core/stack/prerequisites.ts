// Checks of what the stack steps need on the host, each with what was found and how to fix it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FvpNotFoundError, locateFvp, type FvpOptions } from './fvp';
import { execFileRunner, type ExecRunner } from './runner';

/** The prerequisite checks. */
export type PrerequisiteId = 'host' | 'docker' | 'repo' | 'diskSpace' | 'fvp' | 'display' | 'user';

/** The outcome of one check. */
export interface PrerequisiteResult {
  id: PrerequisiteId;
  /** A label for the tree, such as `Docker engine`. */
  title: string;
  /** False when a step will fail for want of this. */
  ok: boolean;
  /** The finding, in a sentence. */
  detail: string;
  /** The remedy when not ok, also given for some passing checks (such as an optional tool). */
  fix?: string;
}

/** About 100 GB: what a full download and build of the reference stack takes. */
export const defaultMinFreeBytes = 100e9;

/** Options of {@link checkPrerequisites}. */
export interface PrerequisiteOptions {
  /** The stack folder; it need not exist yet. */
  stackRoot: string;
  /** The docker command; default `docker`. */
  docker?: string;
  /** The FVP folder setting (ccaRealmStudio.stack.fvpDir), before expansion. */
  fvpDir?: string;
  /** The environment for FVP_DIR, MODEL, DISPLAY, PATH and path variables; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The home folder for `~`; default os.homedir(). */
  home?: string;
  exec?: ExecRunner;
  /** Default process.platform. */
  platform?: NodeJS.Platform;
  /** Default the process's user ID. */
  uid?: number;
  /** Free space the stack folder needs, in bytes; default {@link defaultMinFreeBytes}. */
  minFreeBytes?: number;
  /** How long `docker info` may take, in milliseconds; default 20000. */
  dockerTimeoutMs?: number;
}

/** Runs every check, in the order the tree shows them. */
export async function checkPrerequisites(
  options: PrerequisiteOptions,
): Promise<PrerequisiteResult[]> {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  return [
    checkHost(options.platform ?? process.platform),
    checkUser(options.uid ?? process.getuid?.() ?? -1),
    await checkDocker(options.docker ?? 'docker', {
      exec: options.exec,
      timeoutMs: options.dockerTimeoutMs,
      env,
    }),
    await checkRepo(env),
    await checkDiskSpace(options.stackRoot, options.minFreeBytes),
    await checkFvp({ fvpDir: options.fvpDir, env, home }),
    checkDisplay(env),
  ];
}

/** Checks for a Linux host, where the build container and the FVP run. */
export function checkHost(platform: NodeJS.Platform): PrerequisiteResult {
  const title = 'Linux host';
  if (platform === 'linux') return { id: 'host', title, ok: true, detail: `Linux (${os.arch()})` };
  return {
    id: 'host',
    title,
    ok: false,
    detail: `This host runs ${platform}; the reference stack builds and the FVP runs on Linux.`,
    fix: 'Use a Linux machine or VM (x86_64 or AArch64), for example through VS Code Remote - SSH.',
  };
}

/** Checks that VS Code does not run as root, which Arm's container.sh rejects. */
export function checkUser(uid: number): PrerequisiteResult {
  const title = 'Regular user';
  if (uid !== 0) return { id: 'user', title, ok: true, detail: `running as user ID ${uid}` };
  return {
    id: 'user',
    title,
    ok: false,
    detail:
      'Running as root: Arm\'s container.sh stops with "Error: Executing with root permissions ' +
      'is not allowed.", and the build container runs with your user ID.',
    fix: 'Run VS Code as a regular user who is in the docker group.',
  };
}

/**
 * Asks the Docker engine for its version with `<docker> info --format {{.ServerVersion}}`; a
 * client without a reachable engine fails here with the engine's message.
 */
export async function checkDocker(
  docker: string,
  options: { exec?: ExecRunner; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<PrerequisiteResult> {
  const exec = options.exec ?? execFileRunner;
  const timeoutMs = options.timeoutMs ?? 20000;
  const title = 'Docker engine';
  const fail = (detail: string, fix: string): PrerequisiteResult => ({
    id: 'docker',
    title,
    ok: false,
    detail,
    fix,
  });
  const result = await exec(docker, ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs,
    env: options.env,
  });

  if (result.errorCode === 'ENOENT') {
    return fail(
      `The docker command '${docker}' was not found.`,
      'Install Docker Engine (https://docs.docker.com/engine/install/), or set ' +
        'ccaRealmStudio.stack.docker to the docker command.',
    );
  }
  if (result.errorCode) {
    return fail(
      `'${docker}' could not run: ${result.error ?? result.errorCode}`,
      'Set ccaRealmStudio.stack.docker to an executable docker command.',
    );
  }
  if (result.timedOut) {
    return fail(
      `'${docker} info' did not answer within ${timeoutMs / 1000} s.`,
      'Check the engine with `systemctl status docker`; it may be starting or stuck.',
    );
  }
  const version = result.stdout.trim();
  if (result.code === 0 && version !== '') {
    return { id: 'docker', title, ok: true, detail: `Docker Engine ${version} is reachable` };
  }

  const message =
    firstLines(result.stderr) || firstLines(result.stdout) || `exit code ${result.code}`;
  if (/permission denied/i.test(message)) {
    return fail(
      `The docker client cannot reach the engine: ${message}`,
      'Add your user to the docker group (`sudo usermod -aG docker $USER`), then log in again.',
    );
  }
  if (
    /cannot connect|is the docker daemon running|connection refused|no such file/i.test(message)
  ) {
    return fail(
      `The docker client is installed but no engine answers: ${message}`,
      'Start the Docker engine (`sudo systemctl start docker`), or point DOCKER_HOST or ' +
        'the docker context at a running engine.',
    );
  }
  return fail(`'${docker} info' failed: ${message}`, 'Run `docker info` in a terminal to see why.');
}

function firstLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(0, count).join(' ').trim();
}

/** Returns the first executable `name` on `PATH`, or undefined. */
export async function findOnPath(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  for (const folder of (env.PATH ?? '').split(path.delimiter)) {
    if (folder === '') continue;
    const candidate = path.join(folder, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) return false;
    await fs.promises.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Looks for `repo` on PATH. It passes without one, because the download step runs repo
 * inside the build image, which has it.
 */
export async function checkRepo(env: NodeJS.ProcessEnv): Promise<PrerequisiteResult> {
  const title = 'repo';
  const found = await findOnPath('repo', env);
  if (found) return { id: 'repo', title, ok: true, detail: `found at ${found}` };
  return {
    id: 'repo',
    title,
    ok: true,
    detail: 'repo is not on PATH; the download runs repo inside the build container, which has it.',
    fix: 'To run repo on the host as well, install it (for example `sudo apt-get install repo`).',
  };
}

/** Returns `folder` or its nearest ancestor that exists. */
async function nearestExisting(folder: string): Promise<string> {
  let current = path.resolve(folder);
  for (;;) {
    try {
      await fs.promises.stat(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/**
 * Checks the free space (for an unprivileged user) of the file system that contains the stack
 * folder, or its nearest existing parent before the folder exists.
 *
 * NOTE: the need is counted in full even when part of the stack is downloaded already.
 */
export async function checkDiskSpace(
  stackRoot: string,
  minFreeBytes = defaultMinFreeBytes,
): Promise<PrerequisiteResult> {
  const title = 'Free disk space';
  const folder = await nearestExisting(stackRoot);
  let free: number;
  try {
    const stats = await fs.promises.statfs(folder);
    free = stats.bavail * stats.bsize;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      id: 'diskSpace',
      title,
      ok: false,
      detail: `Cannot read the free space of ${folder}: ${message}`,
      fix: 'Check that the stack folder setting (ccaRealmStudio.stack.root) is a local path.',
    };
  }
  const detail = `${gb(free)} free on the file system of ${folder}; the stack needs about ${gb(minFreeBytes)}`;
  if (free >= minFreeBytes) return { id: 'diskSpace', title, ok: true, detail };
  return {
    id: 'diskSpace',
    title,
    ok: false,
    detail,
    fix: 'Free space there, or set ccaRealmStudio.stack.root to a folder on a larger disk.',
  };
}

/** {@link locateFvp} as a prerequisite check. */
export async function checkFvp(options: FvpOptions): Promise<PrerequisiteResult> {
  const title = 'FVP';
  try {
    const location = await locateFvp(options);
    const from = location.source === 'setting' ? 'ccaRealmStudio.stack.fvpDir' : location.source;
    return { id: 'fvp', title, ok: true, detail: `${location.binary} (from ${from})` };
  } catch (error) {
    if (!(error instanceof FvpNotFoundError)) throw error;
    return { id: 'fvp', title, ok: false, detail: error.message, fix: error.fix };
  }
}

/**
 * Checks for a display for the FVP's xterms. Without one the check still passes, because the
 * product's consoles connect to the UARTs' telnet ports instead.
 */
export function checkDisplay(env: NodeJS.ProcessEnv): PrerequisiteResult {
  const title = 'Display';
  if (env.DISPLAY) {
    return {
      id: 'display',
      title,
      ok: true,
      detail: `DISPLAY is ${env.DISPLAY}: the FVP opens an xterm per UART`,
    };
  }
  return {
    id: 'display',
    title,
    ok: true,
    detail:
      'DISPLAY is not set, so the FVP cannot open its xterms: open the UARTs as consoles in ' +
      'VS Code (CCA: Open FVP Consoles), with bp.terminal_N.start_telnet=0 so that the FVP ' +
      'does not try to open the xterms.',
    fix: 'For the xterms, run VS Code in a desktop session or forward X11 (ssh -X).',
  };
}
