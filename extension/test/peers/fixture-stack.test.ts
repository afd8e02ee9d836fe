// Tests of the fixture rme-stack (scripts/test-peers/fixture-stack/), run in order on one fresh
// fixture as a user goes through the steps. They build the container image, run repo init and a
// sync that fails and is resumed, then a full build and the second build that fails on the
// kernel patch, an RMM compile error, and boot.sh shell and validate with the QEMU board as the
// FVP. The board needs the test peers (node scripts/test-peers/setup.mjs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FixtureStack } from '../../../scripts/test-peers/fixture-stack/index.mjs' with {
  'resolution-mode': 'import',
};

/** A command's run; generous, because two cores are shared with other test suites. */
const COMMAND_TIMEOUT_MS = 120_000;
/** The board boots to `login:` in about 2 s under TCG; the limit leaves room for a busy machine. */
const BOOT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

const PROJECTS = [
  'build-scripts',
  'model-scripts',
  'rmm',
  'tf-a',
  'tf-a-tests',
  'hafnium',
  'linux',
  'kvmtool',
  'kvm-unit-tests',
  'buildroot',
];
const PATCH_LINE =
  '\tgit apply --ignore-space-change --whitespace=warn --inaccurate-eof -v $LINUX_CMD_LINE_EXTEND_PATCH\n';
/** ANSI "erase to end of line", which repo writes after each progress update. */
const ERASE_LINE = '\x1b[K';
const BUILD_ALL = [
  './build-scripts/aemfvp-a-rme/build-test-buildroot.sh',
  '-p',
  'aemfvp-a-rme',
  'all',
];

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Runs a command in its own process group and kills the group if it outlives the timeout. */
function run(command: string, args: string[], { cwd, env }: RunOptions): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      killGroup(child.pid);
      reject(new Error(`${command} ${args.join(' ')} timed out:\n${stdout}\n${stderr}`));
    }, COMMAND_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group has no process left.
  }
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `condition`; `what` names the awaited state in the error, read when the wait fails. */
async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Returns the PIDs of the live descendants of `pid` whose command name starts with `name`. */
function descendantsNamed(pid: number, name: string): number[] {
  const children = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parent = Number(fields[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    } catch {
      // The process exited while /proc was read.
    }
  }
  const found: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    for (const child of children.get(pending.pop() ?? -1) ?? []) {
      if (names.get(child)?.startsWith(name)) found.push(child);
      pending.push(child);
    }
  }
  return found;
}

/** Returns the PIDs of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (commandLine.includes(text) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // The process exited while /proc was read.
    }
  }
  return found;
}

/**
 * A telnet client for the board's consoles. It replies to no option request, because QEMU does
 * not wait for replies, and keeps the text without the telnet commands.
 */
class Console {
  text = '';
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: net.Socket) {
    let command = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const byte of chunk) {
        if (command === 255) command = byte >= 251 && byte <= 254 ? byte : 0;
        else if (command >= 251) command = 0;
        else if (byte === 255) command = 255;
        else this.text += String.fromCharCode(byte);
      }
      for (const waiter of this.waiters) waiter();
    });
  }

  static async connect(port: number): Promise<Console> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Console(socket);
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Waits until the text after `from` matches `pattern`. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.text.slice(from))) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${pattern} on the console within ${timeoutMs} ms:\n${this.text}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Listens on 127.0.0.1:`port`; returns undefined when something else listens there already. */
async function occupyPort(port: number): Promise<net.Server | undefined> {
  const server = net.createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Reads the ports of `terminal_N: Listening for serial connection on port P` lines. */
function portLines(stdout: string): Map<number, number> {
  const ports = new Map<number, number>();
  for (const match of stdout.matchAll(
    /^terminal_(\d): Listening for serial connection on port (\d+)$/gm,
  )) {
    ports.set(Number(match[1]), Number(match[2]));
  }
  return ports;
}

describe('fixture rme-stack', () => {
  let dir: string;
  let shareDir: string;
  let stack: FixtureStack;

  /** Runs a command in the "container", with the mounts and user that CCA Realm Studio uses. */
  const inContainer = (argv: string[], env: Record<string, string> = {}) => {
    const s = stack.stackDir;
    const envArgs = Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`]);
    return run(
      'docker',
      [
        ...['run', '--rm', '--network', 'host', '--user', '1000:1000'],
        ...['-v', `${s}:${s}`, '-w', s, '--env', 'DISPLAY', ...envArgs, stack.image, ...argv],
      ],
      { cwd: stack.dir, env: stack.env() },
    );
  };

  before(async () => {
    const { createFixtureStack } =
      await import('../../../scripts/test-peers/fixture-stack/index.mjs');
    dir = await mkdtemp(path.join(os.tmpdir(), 'cca-fixture-stack-'));
    shareDir = await mkdtemp(path.join(os.tmpdir(), 'cca-fixture-share-'));
    stack = createFixtureStack(dir);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (shareDir) await rm(shareDir, { recursive: true, force: true });
  });

  test('container.sh rejects root and bad commands', async () => {
    const asRoot = await run(stack.containerScript, ['build'], {
      cwd: stack.dir,
      env: stack.env({ CCA_FIXTURE_EUID: '0' }),
    });
    assert.equal(asRoot.status, 1);
    assert.match(asRoot.stdout, /^Error: Executing with root permissions is not allowed\.$/m);

    const asUser = stack.env({ CCA_FIXTURE_EUID: '1000' });
    const two = await run(stack.containerScript, ['build', 'run'], { cwd: stack.dir, env: asUser });
    assert.equal(two.status, 1);
    assert.match(two.stdout, /^Error: Only one command is accepted at a time\.$/m);
    const unknown = await run(stack.containerScript, ['start'], { cwd: stack.dir, env: asUser });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stdout, /^Error: Invalid or empty command\.$/m);
    assert.match(unknown.stdout, /-v {2}<path> absolute path to mount into the container;/);
  });

  test('container.sh build records the image', async () => {
    const env = stack.env({ CCA_FIXTURE_EUID: '1000' });
    const missing = await run('docker', ['image', 'inspect', stack.image], { cwd: stack.dir, env });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^Error: No such image: aemfvp-builder$/m);

    const engineDown = stack.env({ CCA_FIXTURE_DOCKER_ENGINE: 'down' });
    const info = await run('docker', ['info'], { cwd: stack.dir, env: engineDown });
    assert.equal(info.status, 1);
    assert.match(
      info.stderr,
      /Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock\. Is the docker daemon running\?/,
    );

    const build = await run(stack.containerScript, ['build'], { cwd: stack.dir, env });
    assert.equal(build.status, 0, build.stderr);
    assert.match(build.stdout, /^Building docker image: aemfvp-builder \.\.\.$/m);
    assert.match(build.stderr, /^#\d+ naming to docker\.io\/library\/aemfvp-builder:latest done$/m);

    const inspect = await run('docker', ['image', 'inspect', stack.image], { cwd: stack.dir, env });
    assert.equal(inspect.status, 0, inspect.stderr);
    const [image] = JSON.parse(inspect.stdout) as { RepoTags: string[] }[];
    assert.deepEqual(image.RepoTags, ['aemfvp-builder:latest']);
    assert.equal((await run('docker', ['info'], { cwd: stack.dir, env })).status, 0);
  });

  test('docker run checks the terminal and mounts', async () => {
    const env = stack.env({ CCA_FIXTURE_EUID: '1000' });
    const interactive = await run(stack.containerScript, ['-v', stack.stackDir, 'run'], {
      cwd: stack.dir,
      env,
    });
    assert.equal(interactive.status, 1);
    assert.match(interactive.stderr, /^the input device is not a TTY$/m);

    const relative = await run(
      'docker',
      ['run', '--rm', '-v', 'rme-stack:rme-stack', stack.image, 'true'],
      {
        cwd: stack.dir,
        env,
      },
    );
    assert.equal(relative.status, 125);
    assert.match(
      relative.stderr,
      /invalid volume specification: 'rme-stack:rme-stack': invalid mount config for type "volume": invalid mount path: 'rme-stack' mount path must be absolute\./,
    );
  });

  test('repo init needs a manifest URL', async () => {
    const bare = await inContainer(['repo', 'init']);
    assert.equal(bare.status, 1);
    assert.match(bare.stderr, /^fatal: manifest url is required\.$/m);

    const init = await inContainer([
      'repo',
      'init',
      '-u',
      stack.manifestUrl,
      '-m',
      stack.manifest,
      '-b',
      stack.tag,
    ]);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`^repo has been initialized in ${stack.stackDir}$`, 'm'));
    assert.ok(
      existsSync(path.join(stack.stackDir, '.repo', 'manifests', 'pinned-aemfvp-a-rme.xml')),
    );
  });

  test('repo sync resumes after a failed fetch', async () => {
    const syncArgs = [
      'repo',
      'sync',
      '-c',
      '-j',
      '2',
      '--fetch-submodules',
      '--force-sync',
      '--no-clone-bundle',
    ];
    const failed = await inContainer(syncArgs, { CCA_FIXTURE_REPO_FAIL_AFTER: '3' });
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /^error: Cannot fetch TF-A\/trusted-firmware-a from https:\/\//m);
    assert.match(failed.stderr, /^error: Unable to fully sync the tree\.$/m);
    const present = PROJECTS.filter((name) => existsSync(path.join(stack.stackDir, name)));
    assert.deepEqual(present, PROJECTS.slice(0, 3));
    assert.ok(!existsSync(path.join(stack.stackDir, '.repo', 'project.list')));

    const started = performance.now();
    const resumed = await inContainer(syncArgs);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /^repo sync has finished successfully\.$/m);
    const updates = resumed.stderr.split('\r').filter((part) => part.startsWith('Fetching: '));
    assert.match(updates[0], /^Fetching: 10% \(1\/10\) Last synced: /);
    const last = updates.at(-1) ?? '';
    assert.match(last, /^Fetching: 100% \(10\/10\), done in \d+\.\d{3}s/);
    assert.ok(last.endsWith(`${ERASE_LINE}\n`), JSON.stringify(last));
    assert.ok(seconds < 10, `sync took ${seconds} s`);
    for (const name of PROJECTS)
      assert.ok(existsSync(path.join(stack.stackDir, name, '.git')), name);
    const list = await readFile(path.join(stack.stackDir, '.repo', 'project.list'), 'utf8');
    assert.equal(list.trim().split('\n').length, PROJECTS.length);
  });

  test('build all writes the outputs', async () => {
    const build = await inContainer(BUILD_ALL);
    assert.equal(build.status, 0, build.stdout.slice(-3000));
    const outputDir = path.join(stack.stackDir, 'output', 'aemfvp-a-rme');
    for (const name of ['bl1.bin', 'fip.bin', 'fip-std-tests.bin', 'host-fs.ext4', 'Image']) {
      assert.ok(existsSync(path.join(outputDir, name)), name);
    }
    // The ext4 superblock starts at byte 1024 and holds the magic 0xEF53 at offset 56.
    const magic = Buffer.alloc(2);
    const hostFs = await open(path.join(outputDir, 'host-fs.ext4'));
    try {
      await hostFs.read(magic, 0, 2, 1080);
    } finally {
      await hostFs.close();
    }
    assert.deepEqual([...magic], [0x53, 0xef]);
    assert.match(build.stderr, /^Applied patch arch\/arm64\/Kconfig cleanly\.$/m);
    assert.match(readFileSync(path.join(outputDir, 'Image'), 'utf8'), /\tdefault CMDLINE_EXTEND\n/);
  });

  test('second build fails until the patch line goes', async () => {
    const second = await inContainer(BUILD_ALL);
    assert.equal(second.status, 1);
    const output = second.stdout + second.stderr;
    assert.match(output, /^error: patch failed: arch\/arm64\/Kconfig:\d+$/m);
    assert.match(output, /^error: arch\/arm64\/Kconfig: patch does not apply$/m);
    assert.match(
      output,
      /^Command failed: build for build-linux\.sh on aemfvp-a-rme\[aemfvp-a-rme\]\[buildroot\]$/m,
    );

    const script = path.join(stack.stackDir, 'build-scripts', 'build-linux.sh');
    const text = await readFile(script, 'utf8');
    assert.ok(text.includes(PATCH_LINE));
    await writeFile(script, text.replace(PATCH_LINE, ''));
    const third = await inContainer(BUILD_ALL);
    assert.equal(third.status, 0, third.stdout.slice(-3000));
  });

  test('RMM build shows the compiler error', async () => {
    const handler = path.join(stack.stackDir, 'rmm', 'runtime', 'core', 'handler.c');
    const original = await readFile(handler, 'utf8');
    const entry = /\tHANDLER\(REC_ENTER,[^\n]*\),\n/.exec(original);
    assert.ok(entry, 'REC_ENTER entry');
    await writeFile(handler, original.replace(entry[0], entry[0].replace('),\n', ')\n')));

    const broken = await inContainer([
      './build-scripts/build-rmm.sh',
      '-p',
      'aemfvp-a-rme',
      'build',
    ]);
    assert.notEqual(broken.status, 0);
    const output = broken.stdout + broken.stderr;
    assert.match(output, new RegExp(`^${handler}:\\d+:\\d+: error: `, 'm'));
    assert.match(output, /^g?make(\[\d+\])?: \*\*\* \[[^\]]+handler\.c\.o\] Error 1$/m);

    await writeFile(handler, original);
    const rmm = await inContainer(['./build-scripts/build-rmm.sh', '-p', 'aemfvp-a-rme', 'build']);
    assert.equal(rmm.status, 0, rmm.stdout + rmm.stderr);
    for (const command of ['build', 'package']) {
      const tfa = await inContainer([
        './build-scripts/build-tf-a.sh',
        '-p',
        'aemfvp-a-rme',
        command,
      ]);
      assert.equal(tfa.status, 0, tfa.stdout + tfa.stderr);
    }
    const fip = statSync(path.join(stack.stackDir, 'output', 'aemfvp-a-rme', 'fip.bin'));
    assert.ok(fip.mtimeMs >= statSync(handler).mtimeMs, 'fip.bin is newer than handler.c');
  });

  test('boot.sh rejects a ~ in FVP_DIR', async () => {
    const boot = await run(
      './model-scripts/aemfvp-a-rme/boot.sh',
      ['-p', 'aemfvp-a-rme', 'shell'],
      {
        cwd: stack.stackDir,
        env: stack.env({ FVP_DIR: '~/fvp' }),
      },
    );
    assert.equal(boot.status, 1);
    assert.match(
      boot.stdout,
      /^ERROR: you should set variable MODEL to point to a valid FVP model binary\.$/m,
    );
    assert.match(boot.stdout, /^Current MODEL value is "~\/fvp\/FVP_Base_RevC-2xAEMvA"$/m);
  });

  test('boot.sh shell skips a busy port and stops', async () => {
    // The GuaranTEE modification: share a host folder through the FVP's 9p device.
    const runModel = path.join(stack.stackDir, 'model-scripts', 'aemfvp-a-rme', 'run_model.sh');
    const spiLine = '\t-C gic_distributor.extended-spi-count=1024 \\\n';
    const text = await readFile(runModel, 'utf8');
    assert.ok(text.includes(spiLine));
    await writeFile(
      runModel,
      text.replace(spiLine, `${spiLine}\t-C bp.virtiop9device.root_path=${shareDir} \\\n`),
    );
    await writeFile(path.join(shareDir, 'from-the-host.txt'), 'hello\n');

    const blocker = await occupyPort(5000);
    const boot = spawn('./model-scripts/aemfvp-a-rme/boot.sh', ['-p', 'aemfvp-a-rme', 'shell'], {
      cwd: stack.stackDir,
      env: stack.env({ FVP_DIR: stack.fvpDir }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    boot.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    boot.stderr.resume();
    const exited = new Promise((resolve) => boot.on('exit', resolve));
    let terminal: Console | undefined;
    try {
      await waitUntil(
        () => portLines(stdout).size === 4,
        BOOT_TIMEOUT_MS,
        () => `the port lines in:\n${stdout}`,
      );
      const ports = [0, 1, 2, 3].map((index) => portLines(stdout).get(index) ?? 0);
      assert.equal(new Set(ports).size, 4);
      for (const port of ports) assert.ok(port > 5000, `port ${port} is above the busy 5000`);
      assert.deepEqual(
        [...ports].sort((a, b) => a - b),
        ports,
      );

      assert.ok(boot.pid);
      const [qemu] = descendantsNamed(boot.pid, 'qemu-system');
      assert.ok(qemu, 'QEMU runs under boot.sh');

      terminal = await Console.connect(ports[0]);
      terminal.send('\r');
      await terminal.waitFor(/login: $/);
      terminal.send('root\r');
      await terminal.waitFor(/Password: $/);
      const mark = terminal.text.length;
      terminal.send('root\r');
      await terminal.waitFor(/# /, mark);
      const listed = terminal.text.length;
      terminal.send('ls /mnt/shared\r');
      await terminal.waitFor(/from-the-host\.txt/, listed);
      const uart0 = readFileSync(
        path.join(stack.stackDir, 'logs', 'aemfvp-a-rme', 'uart0.log'),
        'utf8',
      );
      assert.match(uart0, /Welcome to Buildroot/);

      killGroup(boot.pid, 'SIGTERM');
      await exited;
      await waitUntil(() => !isAlive(qemu), STOP_TIMEOUT_MS, `QEMU ${qemu} to exit`);
      assert.match(stdout, /^Info: \/OSCI\/SystemC: Simulation stopped by user\.$/m);
    } finally {
      terminal?.close();
      killGroup(boot.pid);
      blocker?.close();
    }
  });

  test('FVP killed outright leaves no QEMU', async () => {
    const fvp = spawn(stack.fvpBinary, ['-C', 'bp.terminal_0.start_telnet=0'], {
      cwd: stack.stackDir,
      env: stack.env(),
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    fvp.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise((resolve) => fvp.on('exit', resolve));
    try {
      await waitUntil(() => portLines(stdout).size === 4, BOOT_TIMEOUT_MS, 'the port lines');
      assert.ok(fvp.pid);
      const [qemu] = descendantsNamed(fvp.pid, 'qemu-system');
      assert.ok(qemu, 'QEMU runs under the FVP');

      // SIGKILL gives the FVP no chance to stop QEMU, which runs in a process group of its own.
      killGroup(fvp.pid, 'SIGKILL');
      await exited;
      await waitUntil(() => !isAlive(qemu), STOP_TIMEOUT_MS, `QEMU ${qemu} to exit`);
    } finally {
      killGroup(fvp.pid);
    }
  });

  test('boot.sh validate reports each world', async () => {
    const validate = await run(
      './model-scripts/aemfvp-a-rme/boot.sh',
      ['-p', 'aemfvp-a-rme', 'validate'],
      {
        cwd: stack.stackDir,
        env: stack.env({ FVP_DIR: stack.fvpDir, CCA_FIXTURE_VALIDATE_TIMEOUT: '90' }),
      },
    );
    const uart0 = readFileSync(
      path.join(stack.stackDir, 'logs', 'aemfvp-a-rme', 'uart0.log'),
      'utf8',
    );
    const worlds: [string, RegExp][] = [
      ['Secure', /INFO: Hafnium initialisation completed/],
      ['Realm', /INFO.*RMM init end/],
      ['Non-Secure', /Welcome to Buildroot/],
    ];
    assert.match(uart0, /Welcome to Buildroot/);
    for (const [world, banner] of worlds) {
      const line = banner.test(uart0)
        ? `[INFO]: ${world} world boot successful`
        : `[ERROR]: ${world} world boot unsuccessful`;
      assert.ok(validate.stdout.split('\n').includes(line), `${line} in:\n${validate.stdout}`);
    }
    const allBooted = worlds.every(([, banner]) => banner.test(uart0));
    assert.equal(validate.status, allBooted ? 0 : 1);
    assert.deepEqual(processesMentioning(stack.dir), [], 'no process of the fixture is left');
  });
});
