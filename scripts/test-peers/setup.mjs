// Installs and builds, once, the test peers that tests use in place of an FVP's telnet consoles.
// They are an arm64 QEMU board (Debian's arm64 kernel and a busybox initramfs with a login on
// four UARTs and a 9p share) and two telnet servers (inetutils-telnetd and busybox telnetd).
// Host tools come from apt-get. The guest's packages, inetutils-telnetd and the host's
// busybox-static are only downloaded and unpacked into the cache folder ($CCA_TEST_CACHE/peers,
// default ~/.cache/cca-realm-studio/peers), so no inetd is installed. Each part gets a marker
// when it is complete, so a second run only checks files and queries dpkg for what is
// installed. A missing part fails the run with the fix, and nothing is skipped.
import { INSTALL_MARKER, installOnce } from '../cache-install.mjs';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import {
  aptGet,
  candidateRecords,
  downloadAndUnpack,
  installDebianPackages,
  missingDebianPackages,
  parseDepends,
  rootPrefix,
  runCommand,
  runProcess,
} from './debian.mjs';
import { buildInitramfs, initramfsKey } from './initramfs.mjs';
import { extractKernelParts } from './kernel.mjs';
import { manifestPath, peersCacheDir } from './paths.mjs';

/**
 * Host tools: QEMU for the board, cpio and busybox (for `mkpasswd`) to build its initramfs,
 * socat to run inetutils-telnetd per connection, and OpenSSH's server and SFTP server for the
 * SSH transport's tests. Those tests start their own sshd on loopback, not the system service.
 */
const HOST_PACKAGES = [
  'qemu-system-arm',
  'cpio',
  'socat',
  'busybox',
  'openssh-server',
  'openssh-sftp-server',
  // The fixture stack's build scripts run the real cmake, make, gcc and git, and mke2fs.
  'cmake',
  'make',
  'gcc',
  'git',
  'e2fsprogs',
];
const KERNEL_METAPACKAGE = 'linux-image-arm64:arm64';
const GUEST_BUSYBOX = 'busybox-static:arm64';
const APT_LISTS_DIR = '/var/lib/apt/lists';

/** Whether this run has fetched apt's package lists already. */
let listsUpdated = false;

async function updatePackageLists() {
  await aptGet(['update']);
  listsUpdated = true;
}

/**
 * Returns a version as a folder-name part. Apt versions contain `:` and `+`, and a `:` in the
 * telnetd path would break socat's address syntax.
 */
function versionTag(version) {
  return version.replace(/[^A-Za-z0-9.~-]/g, '_');
}

async function installHostPackages() {
  const missing = await missingDebianPackages(HOST_PACKAGES);
  if (missing.length > 0) await installDebianPackages(missing);
  await runCommand('qemu-system-aarch64', ['--version']);
  return missing.length > 0 ? `installed ${missing.join(', ')}` : 'already installed';
}

function hasArm64Lists() {
  return (
    existsSync(APT_LISTS_DIR) &&
    readdirSync(APT_LISTS_DIR).some((name) => /_binary-arm64_Packages/.test(name))
  );
}

/** Adds Debian's arm64 architecture to dpkg and fetches its package lists, when missing. */
async function enableArm64Packages() {
  const foreign = await runCommand('dpkg', ['--print-foreign-architectures']);
  const added = !foreign.split(/\s+/).includes('arm64');
  if (added) {
    const addArchitecture = ['dpkg', '--add-architecture', 'arm64'];
    const asRoot = [...(await rootPrefix(addArchitecture)), ...addArchitecture];
    await runCommand(asRoot[0], asRoot.slice(1));
  }
  if (!added && hasArm64Lists()) return 'already enabled';

  await updatePackageLists();
  if (!hasArm64Lists()) {
    throw new Error(
      'apt-get update fetched no arm64 package list: check that the Debian sources in ' +
        '/etc/apt/sources.list.d serve arm64',
    );
  }
  return added ? 'added arm64 and updated the package lists' : 'updated the package lists';
}

/**
 * Returns a fingerprint of apt's package lists and settings. apt-cache's output changes only
 * when they change, so the lookups below are redone only then. Each apt-cache call takes about
 * a second when apt keeps no binary cache, as in Debian's container images.
 */
function aptListsFingerprint() {
  const hash = createHash('sha256');
  const dirs = [APT_LISTS_DIR, '/etc/apt/preferences.d', '/etc/apt/sources.list.d'];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const stats = statSync(path.join(dir, name));
      hash.update(`${dir}/${name} ${stats.size} ${stats.mtimeMs}\n`);
    }
  }
  return hash.digest('hex');
}

/**
 * Looks up what to download, with one `apt-cache show`: the versioned kernel package that the
 * arm64 metapackage depends on (its name changes with kernel updates), busybox-static for the
 * guest and for the host, and inetutils-telnetd with the libraries it links to.
 */
async function lookUpDownloads() {
  const hostArch = (await runCommand('dpkg', ['--print-architecture'])).trim();
  const hostBusybox = `busybox-static:${hostArch}`;
  const telnetd = `inetutils-telnetd:${hostArch}`;
  const specs = [KERNEL_METAPACKAGE, GUEST_BUSYBOX, hostBusybox, telnetd];
  const records = await candidateRecords(specs);
  const missing = specs.filter((spec) => !records.has(spec));
  if (missing.length > 0) {
    throw new Error(`apt-cache has no candidate for ${missing.join(', ')}: run apt-get update`);
  }

  const kernel = parseDepends(records.get(KERNEL_METAPACKAGE).Depends).find(
    ({ name }) => name.startsWith('linux-image-') && name !== 'linux-image-arm64',
  );
  if (!kernel?.version) {
    const depends = records.get(KERNEL_METAPACKAGE).Depends;
    throw new Error(`${KERNEL_METAPACKAGE} depends on no linux-image-* of one version: ${depends}`);
  }
  const download = (prefix, spec, version) => ({
    spec: `${spec}=${version}`,
    version,
    dir: path.join(peersCacheDir(), `${prefix}-${versionTag(version)}`),
  });
  const kernelName = kernel.name.replace(/:arm64$/, '');
  return {
    kernel: download(`kernel-${kernelName}`, `${kernelName}:arm64`, kernel.version),
    guestBusybox: download('busybox-arm64', GUEST_BUSYBOX, records.get(GUEST_BUSYBOX).Version),
    hostBusybox: download(`busybox-${hostArch}`, hostBusybox, records.get(hostBusybox).Version),
    telnetd: {
      ...download('telnetd', telnetd, records.get(telnetd).Version),
      libraries: parseDepends(records.get(telnetd).Depends)
        .map(({ name }) => name)
        .filter((name) => name.startsWith('lib')),
    },
  };
}

/** Returns the downloads, looked up again only when apt's lists changed since the last time. */
async function resolveDownloads() {
  const file = path.join(peersCacheDir(), 'downloads.json');
  const fingerprint = aptListsFingerprint();
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    if (saved.fingerprint === fingerprint) return saved.downloads;
  }
  const downloads = await lookUpDownloads();
  await writeFileAtomically(file, `${JSON.stringify({ fingerprint, downloads }, null, 2)}\n`);
  return downloads;
}

async function fetchKernel(kernel) {
  return installOnce(kernel.dir, async (stagingDir) => {
    const unpackedDir = path.join(stagingDir, 'unpacked');
    await downloadAndUnpack(kernel.spec, unpackedDir, stagingDir);
    const parts = await extractKernelParts(unpackedDir, stagingDir);
    // The unpacked package is about 400 MB of modules, of which the board needs a few.
    await rm(unpackedDir, { recursive: true, force: true });
    console.log(`setup: kernel ${parts.release}, modules ${parts.modules.join(' ')}`);
  });
}

/** Unpacks a busybox-static package; `applet` is one that the binary must have. */
async function fetchBusybox(busybox, applet) {
  return installOnce(busybox.dir, async (stagingDir) => {
    await downloadAndUnpack(busybox.spec, stagingDir, stagingDir);
    const binary = path.join(stagingDir, 'bin', 'busybox');
    if (!existsSync(binary)) throw new Error(`${busybox.spec} has no bin/busybox`);
    if (applet && !(await runCommand(binary, ['--list'])).split('\n').includes(applet)) {
      throw new Error(`${binary} has no ${applet} applet`);
    }
  });
}

/**
 * Unpacks inetutils-telnetd (without installing it, which would pull in an inetd) and installs
 * the shared libraries that its package depends on.
 */
async function fetchTelnetd(telnetd) {
  const outcome = await installOnce(telnetd.dir, (stagingDir) =>
    downloadAndUnpack(telnetd.spec, stagingDir, stagingDir),
  );
  const missing = await missingDebianPackages(telnetd.libraries);
  if (missing.length > 0) await installDebianPackages(missing);

  const binary = path.join(telnetd.dir, 'usr', 'sbin', 'telnetd');
  const linked = await runProcess('ldd', [binary]);
  if (linked.status !== 0 || linked.stdout.includes('not found')) {
    throw new Error(`${binary} cannot load its libraries:\n${linked.stdout}${linked.stderr}`);
  }
  return missing.length > 0 ? `${outcome}, installed ${missing.join(', ')}` : outcome;
}

async function buildBoardInitramfs({ kernel, guestBusybox }) {
  const key = initramfsKey(kernel.version, guestBusybox.version);
  const dir = path.join(peersCacheDir(), `initramfs-${key}`);
  const outcome = await installOnce(dir, async (stagingDir) => {
    const { modules } = JSON.parse(readFileSync(path.join(kernel.dir, 'modules.json'), 'utf8'));
    await buildInitramfs({
      busyboxPath: path.join(guestBusybox.dir, 'bin', 'busybox'),
      modules: modules.map((name) => ({
        name,
        file: path.join(kernel.dir, 'modules', `${name}.ko`),
      })),
      workDir: stagingDir,
      outputFile: path.join(stagingDir, 'initramfs.cpio.gz'),
    });
    await rm(path.join(stagingDir, 'root'), { recursive: true, force: true });
  });
  return { dir, outcome };
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Removes cached parts that the manifest no longer names (such as an older kernel), and the
 * staging folders of setups that were interrupted.
 */
async function pruneCache(keep) {
  const cache = peersCacheDir();
  for (const name of readdirSync(cache)) {
    if (!/^(kernel|busybox|telnetd|initramfs)-/.test(name)) continue;
    const dir = path.join(cache, name);
    if (keep.includes(dir)) continue;
    const staging = /\.partial-(\d+)$/.exec(name);
    if (staging && isRunning(Number(staging[1]))) continue;
    await rm(dir, { recursive: true, force: true });
    console.log(`setup: removed ${name} from the cache`);
  }
}

/** Writes `text` to `file` through a temporary file and a rename, unless it is there already. */
async function writeFileAtomically(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  await writeFile(`${file}.tmp-${process.pid}`, text);
  await rename(`${file}.tmp-${process.pid}`, file);
}

/** Runs one named step, logs its outcome and time, and names it in any error. */
async function step(name, action) {
  const started = performance.now();
  try {
    const result = await action();
    const outcome = typeof result === 'string' ? result : result.outcome;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`setup: ${name}: ${outcome} (${seconds} s)`);
    return result;
  } catch (error) {
    throw new Error(`setup of ${name} failed: ${error.message}`, { cause: error });
  }
}

/** Installs and builds every missing part, in order, and writes the manifest. */
export async function setupTestPeers() {
  await mkdir(peersCacheDir(), { recursive: true });
  await step(`host packages (${HOST_PACKAGES.join(', ')})`, installHostPackages);
  await step('Debian arm64 packages', enableArm64Packages);

  // The lists are refreshed before anything is downloaded, because a kernel version that they
  // name may have been replaced on the mirror since they were fetched.
  let downloads = await resolveDownloads();
  const complete = ({ dir }) => existsSync(path.join(dir, INSTALL_MARKER));
  if (!listsUpdated && !Object.values(downloads).every(complete)) {
    await step('package lists', async () => {
      await updatePackageLists();
      return 'updated';
    });
    downloads = await resolveDownloads();
  }

  const { kernel, guestBusybox, hostBusybox, telnetd } = downloads;
  await step(`kernel ${kernel.spec}`, () => fetchKernel(kernel));
  await step(`guest busybox ${guestBusybox.spec}`, () => fetchBusybox(guestBusybox));
  await step(`host busybox ${hostBusybox.spec}`, () => fetchBusybox(hostBusybox, 'telnetd'));
  await step(`telnetd ${telnetd.spec}`, () => fetchTelnetd(telnetd));
  const initramfs = await step('initramfs', () => buildBoardInitramfs({ kernel, guestBusybox }));

  const manifest = {
    kernelImage: path.join(kernel.dir, 'Image'),
    initramfs: path.join(initramfs.dir, 'initramfs.cpio.gz'),
    telnetd: path.join(telnetd.dir, 'usr', 'sbin', 'telnetd'),
    busybox: path.join(hostBusybox.dir, 'bin', 'busybox'),
    packages: Object.fromEntries(Object.entries(downloads).map(([key, { spec }]) => [key, spec])),
  };
  await writeFileAtomically(manifestPath(), `${JSON.stringify(manifest, null, 2)}\n`);
  await pruneCache([kernel.dir, guestBusybox.dir, hostBusybox.dir, telnetd.dir, initramfs.dir]);
}

if (import.meta.filename === process.argv[1]) {
  const started = performance.now();
  try {
    await setupTestPeers();
    console.log(
      `setup: test peers ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  }
}
