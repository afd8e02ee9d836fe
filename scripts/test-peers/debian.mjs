// Debian package helpers for setup.mjs: which packages are installed, apt-get as root, and
// packages fetched with `apt-get download` and unpacked with `dpkg-deb -x` without installing
// them. Every command is an argument array, never a shell string.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Runs a command and resolves with `{ status, stdout, stderr }` whatever its exit code.
 * Rejects only when it cannot start. With `inherit`, its output goes to this process's.
 */
export function runProcess(command, args, { cwd, inherit = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => {
      const reason = error.code === 'ENOENT' ? 'command not found' : error.message;
      reject(new Error(`${command}: ${reason}`));
    });
    child.on('close', (code, signal) => resolve({ status: code ?? signal, stdout, stderr }));
  });
}

/** Runs a command and resolves with its stdout, or rejects with its output when it fails. */
export async function runCommand(command, args, options = {}) {
  const result = await runProcess(command, args, options);
  if (result.status !== 0) {
    const output = `${result.stdout}${result.stderr}`.trim();
    const commandLine = [command, ...args].join(' ');
    throw new Error(`\`${commandLine}\` failed (exit ${result.status})${output && `:\n${output}`}`);
  }
  return result.stdout;
}

/** Returns those of `names` that dpkg does not list as installed, in one dpkg-query call. */
export async function missingDebianPackages(names) {
  // dpkg-query exits with 1 when a name is unknown, which only means that it is missing.
  const result = await runProcess('dpkg-query', [
    '-W',
    '-f',
    '${binary:Package} ${db:Status-Status}\n',
    ...names,
  ]);
  const installed = new Set();
  for (const line of result.stdout.split('\n')) {
    const [name, status] = line.trim().split(' ');
    // Multi-arch packages are listed with their architecture (libc6:amd64).
    if (status === 'installed') installed.add(name.replace(/:.*$/, ''));
  }
  return names.filter((name) => !installed.has(name.replace(/:.*$/, '')));
}

/**
 * Returns the prefix that runs `commandLine` (an array) as root: none when this process is
 * root, or `sudo -n`. Throws when neither works, naming the command to run as root.
 */
export async function rootPrefix(commandLine) {
  if (process.getuid?.() === 0) return [];
  const sudo = await runProcess('sudo', ['-n', 'true']).catch(() => ({ status: 'missing' }));
  if (sudo.status === 0) return ['sudo', '-n'];
  throw new Error(
    `\`${commandLine.join(' ')}\` needs root, and sudo without a password is not available: ` +
      'run it as root, then this setup again',
  );
}

/** Runs `apt-get ARGS` as root, without prompts, showing its output. */
export async function aptGet(args) {
  const prefix = await rootPrefix(['apt-get', ...args]);
  const command = [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  await runCommand(command[0], command.slice(1), { inherit: true });
}

/** Installs `names` without recommends, after an `apt-get update` when the first try fails. */
export async function installDebianPackages(names) {
  const install = ['install', '-y', '--no-install-recommends', ...names];
  try {
    await aptGet(install);
  } catch {
    console.log('apt-get install failed, so the package lists are updated and it is tried again');
    await aptGet(['update']);
    await aptGet(install);
  }
}

/**
 * Returns the candidate record of each package in `specs` (`name:arch`), from one
 * `apt-cache show` call, as a Map from spec to its fields (`Version`, `Depends`, ...). A package
 * that apt does not know is left out.
 */
export async function candidateRecords(specs) {
  const result = await runProcess('apt-cache', ['show', '--no-all-versions', ...specs]);
  const records = new Map();
  for (const paragraph of result.stdout.split(/\n\n+/)) {
    const fields = {};
    for (const match of paragraph.matchAll(/^([\w-]+): (.*)$/gm)) fields[match[1]] = match[2];
    const spec = `${fields.Package}:${fields.Architecture}`;
    if (specs.includes(spec)) records.set(spec, fields);
  }
  return records;
}

/**
 * Splits a Depends field into its items, each `{ name, version }` (version set for `(= V)`),
 * leaving out alternatives (`a | b`), which setup has no use for.
 */
export function parseDepends(field = '') {
  return field
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item && !item.includes('|'))
    .map((item) => {
      const match = /^(\S+)(?:\s+\(= ([^)]+)\))?/.exec(item);
      return { name: match[1], version: match[2] };
    });
}

/**
 * Fetches the `.deb` of `spec` (`name:arch=version`) with `apt-get download` into a folder
 * under `workDir`, and unpacks it into `destinationDir` with `dpkg-deb -x`. Nothing is
 * installed, so none of the package's dependencies (such as an inetd) come along.
 */
export async function downloadAndUnpack(spec, destinationDir, workDir) {
  await mkdir(workDir, { recursive: true });
  const downloadDir = await mkdtemp(path.join(workDir, '.download-'));
  try {
    // apt drops to the _apt user to download, and that user cannot write to this folder. As
    // root, apt would warn and download as root anyway, so this option sets that explicitly.
    const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    await runCommand('apt-get', [...sandbox, 'download', spec], { cwd: downloadDir });
    const debs = readdirSync(downloadDir).filter((name) => name.endsWith('.deb'));
    if (debs.length !== 1) {
      throw new Error(`apt-get download ${spec} left ${debs.length} .deb files, expected 1`);
    }
    await runCommand('dpkg-deb', ['-x', path.join(downloadDir, debs[0]), destinationDir]);
  } finally {
    await rm(downloadDir, { recursive: true, force: true });
  }
}
