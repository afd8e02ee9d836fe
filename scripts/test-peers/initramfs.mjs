// Builds the test board's initramfs, a gzip-compressed newc archive made by cpio. It contains
// busybox-static for arm64 with a link per applet, the 9p modules of the kernel package, and
// the files in guest/: init, inittab, a buildroot-like hostname, issue and motd, a root
// account with the password `root`, and the FVP stand-in's programs (firmware banners, the
// lkvm stand-in with its realm session, and the realm_inference test double).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { rootPrefix, runCommand } from './debian.mjs';
import { testPeersDir } from './paths.mjs';

const GUEST_DIR = path.join(testPeersDir, 'guest');

/** Files of guest/ that go to /etc, with their modes. */
const ETC_FILES = [
  ['group', 0o644],
  ['hostname', 0o644],
  ['inittab', 0o644],
  ['issue', 0o644],
  ['motd', 0o644],
  ['passwd', 0o644],
  ['profile', 0o644],
];

/** Programs of guest/ that go elsewhere, with their paths in the guest and their modes. */
const PROGRAM_FILES = [
  ['boot-banners', 'usr/lib/cca-stand-in/boot-banners', 0o755],
  ['lkvm', 'bin/lkvm', 0o755],
  ['realm_inference', 'bin/realm_inference', 0o755],
  ['realm-session', 'usr/lib/cca-stand-in/realm-session', 0o755],
  ['realm-shell', 'usr/lib/cca-stand-in/realm-shell', 0o755],
  ['mount.9p', 'bin/mount.9p', 0o755],
];

/**
 * Applets that the guest's init, inittab and login, and the shell scripts of guest/, need. A
 * busybox without them is unusable.
 */
const REQUIRED_APPLETS = [
  ...['sh', 'init', 'getty', 'login', 'mount', 'insmod', 'hostname', 'tr', 'grep', 'cat'],
  ...['mkdir', 'rm', 'head', 'cpio', 'cut', 'sed', 'awk', 'expr', 'od', 'wc', 'dd', 'id'],
  ...['realpath', 'readlink', 'dirname', 'uname', 'nproc', 'unshare', 'sleep', 'usleep'],
  ...['md5sum', 'stty', 'tac', 'mv'],
];

/**
 * Returns a key for the initramfs's inputs: the versions of the kernel and busybox packages and
 * the content of guest/ and of this file, so that a change to any of them rebuilds it.
 */
export function initramfsKey(kernelVersion, busyboxVersion) {
  const hash = createHash('sha256');
  hash.update(`${kernelVersion}\n${busyboxVersion}\n`);
  hash.update(readFileSync(import.meta.filename));
  const files = [];
  for (const entry of readdirSync(GUEST_DIR, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files.push(path.relative(GUEST_DIR, path.join(entry.parentPath, entry.name)));
  }
  for (const name of files.sort()) {
    hash.update(`${name}\n`);
    hash.update(readFileSync(path.join(GUEST_DIR, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Returns the applet names of a busybox binary without running it (it is built for arm64).
 * Busybox keeps them as one sorted table of NUL-terminated names that starts with `[` and `[[`
 * and ends with an empty name.
 */
export function readAppletNames(busyboxPath) {
  const binary = readFileSync(busyboxPath);
  const start = binary.indexOf(Buffer.from('\0[\0[[\0'));
  if (start < 0) throw new Error(`${busyboxPath}: applet name table not found`);

  const names = [];
  let offset = start + 1;
  for (;;) {
    const end = binary.indexOf(0, offset);
    const name = binary.subarray(offset, end).toString('latin1');
    if (!/^[\x21-\x7e]+$/.test(name)) break;
    names.push(name);
    offset = end + 1;
  }

  const sorted = [...names].sort();
  const missing = REQUIRED_APPLETS.filter((name) => !names.includes(name));
  if (names.some((name, index) => name !== sorted[index]) || missing.length > 0) {
    throw new Error(
      `${busyboxPath}: the applet table read from the binary is not usable ` +
        `(${names.length} names${missing.length ? `, missing ${missing.join(', ')}` : ''})`,
    );
  }
  return names;
}

/** Returns the SHA-512 crypt hash of `password` with a new random salt. */
async function hashPassword(password) {
  // Debian's busybox package (a host tool that setup installs) has mkpasswd.
  return (await runCommand('busybox', ['mkpasswd', '-m', 'sha512', password])).trim();
}

/** Lists every path under `dir`, relative and sorted, folders before what they contain. */
async function listTree(dir) {
  const entries = await readdir(dir, { recursive: true });
  return ['.', ...entries.map((entry) => `./${entry}`)].sort();
}

/** Packs `rootDir` with `cpio -o -H newc`, owned by root, and gzips it into `outputFile`. */
async function packCpio(rootDir, outputFile) {
  const cpio = spawn('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0'], {
    cwd: rootDir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  cpio.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve, reject) => {
    cpio.on('error', reject);
    cpio.on('close', resolve);
  });

  cpio.stdin.end(`${(await listTree(rootDir)).join('\n')}\n`);
  await pipeline(cpio.stdout, createGzip({ level: 6 }), createWriteStream(outputFile));
  const status = await exited;
  if (status !== 0) throw new Error(`cpio failed (exit ${status}): ${stderr.trim()}`);
}

/**
 * Builds `outputFile` from the busybox binary, the kernel modules (an ordered list of
 * `{ name, file }`, loaded by /init in that order) and guest/, using `workDir` as the root.
 */
export async function buildInitramfs({ busyboxPath, modules, workDir, outputFile }) {
  const root = path.join(workDir, 'root');
  for (const dir of ['bin', 'dev', 'etc', 'lib/modules', 'mnt/shared', 'proc', 'root', 'sys']) {
    await mkdir(path.join(root, dir), { recursive: true });
  }
  for (const dir of ['tmp', 'var/log', 'var/run']) {
    await mkdir(path.join(root, dir), { recursive: true, mode: 0o1777 });
  }

  // Every applet links to /bin/busybox; /sbin and /usr point at /bin, so the applets' usual
  // paths (/sbin/getty, /usr/bin/id) all work.
  await copyFile(busyboxPath, path.join(root, 'bin', 'busybox'));
  await chmod(path.join(root, 'bin', 'busybox'), 0o755);
  for (const name of readAppletNames(busyboxPath)) {
    if (name !== 'busybox') await symlink('busybox', path.join(root, 'bin', name));
  }
  await symlink('bin', path.join(root, 'sbin'));
  await mkdir(path.join(root, 'usr'));
  await symlink('../bin', path.join(root, 'usr', 'bin'));
  await symlink('../bin', path.join(root, 'usr', 'sbin'));

  for (const { name, file } of modules) {
    await copyFile(file, path.join(root, 'lib', 'modules', `${name}.ko`));
  }
  const moduleList = modules.map(({ name }) => `${name}\n`).join('');
  await writeFile(path.join(root, 'etc', 'modules'), moduleList);

  await copyFile(path.join(GUEST_DIR, 'init'), path.join(root, 'init'));
  await chmod(path.join(root, 'init'), 0o755);
  for (const [name, mode] of ETC_FILES) {
    await copyFile(path.join(GUEST_DIR, name), path.join(root, 'etc', name));
    await chmod(path.join(root, 'etc', name), mode);
  }
  for (const [name, target, mode] of PROGRAM_FILES) {
    await mkdir(path.dirname(path.join(root, target)), { recursive: true });
    await copyFile(path.join(GUEST_DIR, name), path.join(root, target));
    await chmod(path.join(root, target), mode);
  }
  const shadow = `root:${await hashPassword('root')}:19000:0:99999:7:::\n`;
  await writeFile(path.join(root, 'etc', 'shadow'), shadow, { mode: 0o600 });

  // The kernel opens /dev/console before /init runs, that is before devtmpfs is mounted.
  const mknod = ['mknod', '-m', '600', path.join(root, 'dev', 'console'), 'c', '5', '1'];
  const asRoot = [...(await rootPrefix(mknod)), ...mknod];
  await runCommand(asRoot[0], asRoot.slice(1));

  await packCpio(root, outputFile);
}
