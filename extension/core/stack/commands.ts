// Argument arrays for the stack's commands: Arm's container.sh, commands inside the build
// container, repo, the build scripts and boot.sh. Nothing here runs a command.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { componentBuildScript, platform, type StackLayout } from './layout';
import { quoteShellWord } from './shell-words';

/** A command to start: an argument array, never a shell line. */
export interface CommandSpec {
  /** The program: an absolute path or a name looked up on PATH. */
  command: string;
  args: readonly string[];
  cwd: string;
  /** Variables to set (a string) or remove (undefined) in the inherited environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Commands that stop what the process group alone does not hold, run as the runner stops
   * the group: `term` with SIGTERM, `kill` with SIGKILL. A container, whose processes belong
   * to the Docker engine, is stopped this way.
   */
  stopHooks?: { term?: readonly string[]; kill?: readonly string[] };
}

/** Renders an argument array as a shell line, for logs and titles only. */
export function formatCommandLine(argv: readonly string[]): string {
  return argv.map(quoteShellWord).join(' ');
}

function requireAbsolute(value: string, what: string): void {
  if (!path.isAbsolute(value)) {
    throw new Error(`${what} must be an absolute path, not '${value}'.`);
  }
}

/** `container.sh -i <image> build`: builds Arm's build image from the Docker repository. */
export function containerBuildCommand(options: { dockerRepo: string; image: string }): CommandSpec {
  requireAbsolute(
    options.dockerRepo,
    'The Docker repository folder (ccaRealmStudio.stack.dockerRepo)',
  );
  return {
    command: path.join(options.dockerRepo, 'container.sh'),
    args: ['-i', options.image, 'build'],
    cwd: options.dockerRepo,
  };
}

/** A user ID and group ID. */
export interface UserIds {
  uid: number;
  gid: number;
}

/** Options of {@link inContainerCommand}. */
export interface InContainerOptions {
  /** The docker command (ccaRealmStudio.stack.docker). */
  docker: string;
  image: string;
  /** The stack folder, mounted at the same path and used as the working folder. */
  stackRoot: string;
  /** The command to run in the container. */
  argv: readonly string[];
  /** The working folder inside the stack; default the stack folder. */
  cwd?: string;
  /** The user to run as; default the current user. Root is rejected, as container.sh does. */
  user?: UserIds;
  /** The container's name, used to stop it; default a new unique name. */
  name?: string;
  /**
   * Gives the command a terminal (`-t`). repo prints its progress only to a terminal; with a
   * terminal, stderr arrives on stdout and lines end with `\r\n`.
   */
  tty?: boolean;
  /** Further variables to set in the container. */
  env?: Readonly<Record<string, string>>;
  /** Further host folders mounted at the same path, such as the build's overlay folders. */
  mounts?: readonly string[];
}

/** Returns a new container name for a step, unique enough to stop one run by name. */
export function containerName(step: string): string {
  return `cca-realm-studio-${step}-${randomBytes(4).toString('hex')}`;
}

/**
 * `docker run` of one command in the build image, with the mounts and user that
 * `container.sh run` uses: `--network host`, the stack at its own path, the caller's uid:gid,
 * DISPLAY passed through. container.sh itself only runs an interactive shell.
 *
 * `--init` gives the container an init process that passes SIGTERM on and reaps orphans. The
 * stop hooks run `docker kill`, because the container's processes are not in the runner's group.
 */
export function inContainerCommand(options: InContainerOptions): CommandSpec {
  requireAbsolute(options.stackRoot, 'The stack folder (ccaRealmStudio.stack.root)');
  const cwd = options.cwd ?? options.stackRoot;
  requireAbsolute(cwd, 'The working folder');
  if (options.argv.length === 0) throw new Error('No command given to run in the container.');

  const user = options.user ?? currentUser();
  if (user.uid === 0) {
    throw new Error(
      "Stack commands do not run as root: Arm's container.sh rejects root, and files " +
        'written in the stack would belong to root. Run VS Code as a regular user in the ' +
        'docker group.',
    );
  }

  const name = options.name ?? containerName('step');
  const args = ['run', '--rm', '--init', '--name', name, '--network', 'host'];
  args.push('--user', `${user.uid}:${user.gid}`);
  args.push('-v', `${options.stackRoot}:${options.stackRoot}`);
  for (const folder of options.mounts ?? []) {
    requireAbsolute(folder, 'A folder mounted into the container');
    args.push('-v', `${folder}:${folder}`);
  }
  args.push('-w', cwd, '--env', 'DISPLAY');
  for (const [variable, value] of Object.entries(options.env ?? {})) {
    args.push('--env', `${variable}=${value}`);
  }
  if (options.tty) args.push('-t');
  args.push(options.image, ...options.argv);

  return {
    command: options.docker,
    args,
    cwd: options.stackRoot,
    stopHooks: {
      term: [options.docker, 'kill', '--signal', 'TERM', name],
      kill: [options.docker, 'kill', name],
    },
  };
}

function currentUser(): UserIds {
  const info = os.userInfo();
  return { uid: info.uid, gid: info.gid };
}

/** The `repo init` settings (ccaRealmStudio.stack.manifestUrl, .manifest, .tag). */
export interface ManifestSettings {
  manifestUrl: string;
  manifest: string;
  tag: string;
}

/** Arm's manifest repository for the reference stacks. */
export const defaultManifestUrl =
  'https://git.gitlab.arm.com/arm-reference-solutions/arm-reference-solutions-manifest.git';

/** `repo init -u <url> -m <manifest> -b <tag>`. */
export function repoInitArgv(settings: ManifestSettings): string[] {
  for (const name of ['manifestUrl', 'manifest', 'tag'] as const) {
    if (settings[name].trim() === '') {
      throw new Error(`The repo ${name} setting is empty: set ccaRealmStudio.stack.${name}.`);
    }
  }
  return ['repo', 'init', '-u', settings.manifestUrl, '-m', settings.manifest, '-b', settings.tag];
}

/**
 * `repo sync -c -j <jobs> --fetch-submodules --force-sync --no-clone-bundle`. Running it again
 * resumes an interrupted sync. `jobs` defaults to the number of CPUs.
 */
export function repoSyncArgv(jobs: number = os.availableParallelism()): string[] {
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new Error(`Invalid repo sync job count ${jobs}: expected a whole number of 1 or more.`);
  }
  return [
    'repo',
    'sync',
    '-c',
    '-j',
    String(jobs),
    '--fetch-submodules',
    '--force-sync',
    '--no-clone-bundle',
  ];
}

/** Commands of the whole-stack build script. */
export type BuildAllCommand = 'all' | 'build' | 'package' | 'clean';

/** Commands of a per-component build script. */
export type ComponentCommand = 'prepare' | 'build' | 'package' | 'clean';

/** `build-scripts/aemfvp-a-rme/build-test-buildroot.sh -p aemfvp-a-rme <command>`. */
export function buildAllArgv(layout: StackLayout, command: BuildAllCommand): string[] {
  return [layout.buildAllScript, '-p', platform, command];
}

/** `build-scripts/build-<component>.sh -p aemfvp-a-rme <command>`. */
export function componentBuildArgv(
  layout: StackLayout,
  component: string,
  command: ComponentCommand,
): string[] {
  return [componentBuildScript(layout, component), '-p', platform, command];
}

/**
 * Returns the commands that rebuild only the RMM after a source change such as handler.c. They
 * run in order: the RMM's build, then TF-A's build, which packs the new RMM image into the FIP,
 * then TF-A's package step, which copies bl1.bin and the FIPs to output/aemfvp-a-rme.
 */
export function rmmRebuildArgvs(layout: StackLayout): string[][] {
  return [
    componentBuildArgv(layout, 'rmm', 'build'),
    componentBuildArgv(layout, 'tf-a', 'build'),
    componentBuildArgv(layout, 'tf-a', 'package'),
  ];
}

/**
 * Returns the stack's component names in build order, from the `BUILD_SCRIPTS` list of the
 * platform's variant file (build-scripts/configs/aemfvp-a-rme/aemfvp-a-rme) or of the
 * whole-stack build script, else the `build-<component>.sh` files in build-scripts/ by name.
 * Returns an empty list before the download.
 */
export async function listBuildComponents(layout: StackLayout): Promise<string[]> {
  const candidates = [
    path.join(layout.buildScriptsDir, 'configs', platform, platform),
    layout.buildAllScript,
  ];
  for (const file of candidates) {
    const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
    const list = /^\s*BUILD_SCRIPTS="([^"]*)"/m.exec(text);
    if (list) {
      return [...list[1].matchAll(/build-([\w-]+)\.sh/g)].map((match) => match[1]);
    }
  }
  const entries = await fs.promises.readdir(layout.buildScriptsDir).catch(() => [] as string[]);
  return entries
    .map((name) => /^build-([\w-]+)\.sh$/.exec(name)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

/** The variable boot.sh finds the FVP by: `FVP_DIR` (a folder) or `MODEL` (the binary, older releases). */
export type FvpVariable = { name: 'FVP_DIR'; value: string } | { name: 'MODEL'; value: string };

/** The modes of boot.sh. */
export type BootMode = 'shell' | 'validate';

/**
 * `model-scripts/aemfvp-a-rme/boot.sh -p aemfvp-a-rme shell|validate`, run on the host from the
 * stack folder, with `FVP_DIR` or `MODEL` set and the other one removed so that a value in
 * VS Code's environment does not take over.
 */
export function bootCommand(layout: StackLayout, mode: BootMode, fvp: FvpVariable): CommandSpec {
  requireAbsolute(fvp.value, fvp.name);
  const env: Record<string, string | undefined> = { FVP_DIR: undefined, MODEL: undefined };
  env[fvp.name] = fvp.value;
  return { command: layout.bootScript, args: ['-p', platform, mode], cwd: layout.root, env };
}

/**
 * Returns the FVP parameters (values for `-C`) that keep the FVP from opening an xterm per
 * UART, for a host without a display. The product's consoles connect to the telnet ports
 * instead.
 *
 * NOTE: bootCommand does not pass these through boot.sh, because no boot.sh option for extra
 * FVP parameters is known here; they take effect as `-C` lines of run_model.sh, the way the
 * 9p root_path parameter is added.
 */
export function noXtermParameters(): string[] {
  return [0, 1, 2, 3].map((n) => `bp.terminal_${n}.start_telnet=0`);
}
