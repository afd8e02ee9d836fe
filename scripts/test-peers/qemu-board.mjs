// An arm64 board under QEMU that tests use in place of an FVP's telnet consoles. Its four UARTs
// are telnet servers on 127.0.0.1, each with a busybox `login:` (root, password root), and a
// host folder can be shared with it over 9p, the realm's shared-folder transport. setup.mjs
// builds its kernel and initramfs.
import { statSync } from 'node:fs';
import path from 'node:path';
import { readManifest } from './paths.mjs';
import { startProcessGroup, waitForListening } from './processes.mjs';

export { freePorts } from './processes.mjs';

/** The guest's consoles, in the order of `ports`. */
export const BOARD_CONSOLES = ['ttyAMA0', 'ttyS0', 'ttyS1', 'ttyS2'];

/** The guest's mount point of the shared folder (9p mount tag `sh`), mounted by its /init. */
export const GUEST_SHARE_DIR = '/mnt/shared';

/** Returns `value` for a QEMU option list, in which a comma is written as two. */
function qemuOptionValue(value) {
  return value.replaceAll(',', ',,');
}

function checkPorts(ports) {
  const valid =
    Array.isArray(ports) &&
    ports.length === BOARD_CONSOLES.length &&
    new Set(ports).size === ports.length &&
    ports.every((port) => Number.isInteger(port) && port > 0 && port < 65536);
  if (!valid) {
    throw new Error(
      `ports must be ${BOARD_CONSOLES.length} distinct TCP ports (for ` +
        `${BOARD_CONSOLES.join(', ')}), got ${JSON.stringify(ports)}`,
    );
  }
}

function checkLogFiles(logFiles) {
  if (logFiles === undefined) return;
  if (!Array.isArray(logFiles) || logFiles.length > BOARD_CONSOLES.length) {
    throw new Error(
      `logFiles must be an array of at most ${BOARD_CONSOLES.length} paths, got ` +
        JSON.stringify(logFiles),
    );
  }
  for (const file of logFiles) {
    if (file === undefined || file === null) continue;
    const dir = path.dirname(path.resolve(file));
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`the folder of log file ${file} does not exist`);
    }
  }
}

/** Returns the chardev option that also writes what the guest prints on a console to `file`. */
function logFileOption(file) {
  return file ? `,logfile=${qemuOptionValue(path.resolve(file))},logappend=off` : '';
}

function qemuArguments({ ports, shareDir, waitForClient, logFiles = [] }) {
  const { kernelImage, initramfs } = readManifest();
  const args = [
    ...['-M', 'virt', '-cpu', 'cortex-a57', '-smp', '1', '-m', '256'],
    // No network card: without recommends, Debian's QEMU has no iPXE ROM for the default one.
    ...['-nographic', '-nic', 'none', '-monitor', 'none'],
    ...['-kernel', kernelImage, '-initrd', initramfs, '-append', 'console=ttyAMA0'],
  ];
  // The PL011, ttyAMA0 in the guest. With wait=on, QEMU starts the guest only once a client
  // has connected to it, so that client sees the whole kernel log.
  const wait = waitForClient ? 'on' : 'off';
  if (logFiles[0]) {
    args.push(
      '-chardev',
      `socket,id=uart0,host=127.0.0.1,port=${ports[0]},server=on,wait=${wait},telnet=on` +
        logFileOption(logFiles[0]),
      '-serial',
      'chardev:uart0',
    );
  } else {
    args.push('-serial', `telnet:127.0.0.1:${ports[0]},server=on,wait=${wait}`);
  }
  for (const [index, port] of ports.slice(1).entries()) {
    const id = `uart${index + 1}`;
    args.push(
      '-chardev',
      `socket,id=${id},host=127.0.0.1,port=${port},server=on,wait=off,telnet=on` +
        logFileOption(logFiles[index + 1]),
      '-device',
      `pci-serial,chardev=${id}`,
    );
  }
  if (shareDir !== undefined) {
    const dir = qemuOptionValue(path.resolve(shareDir));
    args.push('-virtfs', `local,path=${dir},mount_tag=sh,security_model=none`);
  }
  return args;
}

/**
 * Starts the board and resolves once QEMU listens on all four ports (the guest then needs about
 * two seconds to print `login:`).
 *
 * Options:
 * - `ports`: four TCP ports on 127.0.0.1 (see `freePorts`), in this order: ttyAMA0 (the PL011,
 *   which also carries the kernel log), then ttyS0, ttyS1 and ttyS2 (pci-serial).
 * - `shareDir`: a host folder that the guest mounts at /mnt/shared over 9p (virtio, mount tag
 *   `sh`). Files that the guest creates in it are owned by root on the host.
 * - `waitForClient`: when true, QEMU keeps the guest stopped until a client connects to `ports[0]`.
 * - `logFiles`: up to four paths, in the order of `ports`; QEMU writes everything that the guest
 *   prints on that console to the file, whether a client is connected or not, as the FVP's
 *   `bp.pl011_uartN.out_file` does. A missing or empty entry writes no file.
 *
 * Returns `{ pid, ports, output(), stop(), restart() }`. `pid` is QEMU's process ID, a new one
 * after a restart. `output()` returns what QEMU printed lately. `stop()` kills QEMU's process
 * group and resolves when it is gone. `restart()` stops the board and starts it again on the
 * same ports. A QEMU console serves one client at a time, drops output while no client is
 * connected, and needs a carriage return from a late client to print `login:` again.
 */
export async function startQemuBoard({ ports, shareDir, waitForClient = false, logFiles }) {
  checkPorts(ports);
  checkLogFiles(logFiles);
  if (shareDir !== undefined && !statSync(shareDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`shareDir ${shareDir} is not a folder`);
  }
  const args = qemuArguments({ ports, shareDir, waitForClient, logFiles });

  let qemu;
  const start = async () => {
    qemu = startProcessGroup('qemu-system-aarch64', args);
    await waitForListening(qemu, ports, { name: 'qemu-system-aarch64' });
  };
  await start();

  return {
    get pid() {
      return qemu.pid;
    },
    ports: [...ports],
    output: () => qemu.output(),
    stop: () => qemu.stop(),
    async restart() {
      await qemu.stop();
      await start();
    },
  };
}
