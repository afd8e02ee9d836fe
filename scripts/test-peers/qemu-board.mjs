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

function qemuArguments({ ports, shareDir, waitForClient }) {
  const { kernelImage, initramfs } = readManifest();
  const args = [
    ...['-M', 'virt', '-cpu', 'cortex-a57', '-smp', '1', '-m', '256'],
    // No network card: without recommends, Debian's QEMU has no iPXE ROM for the default one.
    ...['-nographic', '-nic', 'none', '-monitor', 'none'],
    ...['-kernel', kernelImage, '-initrd', initramfs, '-append', 'console=ttyAMA0'],
    // The PL011, ttyAMA0 in the guest. With wait=on, QEMU starts the guest only once a client
    // has connected to it, so that client sees the whole kernel log.
    '-serial',
    `telnet:127.0.0.1:${ports[0]},server=on,wait=${waitForClient ? 'on' : 'off'}`,
  ];
  for (const [index, port] of ports.slice(1).entries()) {
    const id = `uart${index + 1}`;
    args.push(
      '-chardev',
      `socket,id=${id},host=127.0.0.1,port=${port},server=on,wait=off,telnet=on`,
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
 *
 * Returns `{ pid, ports, output(), stop(), restart() }`. `pid` is QEMU's process ID, a new one
 * after a restart. `output()` returns what QEMU printed lately. `stop()` kills QEMU's process
 * group and resolves when it is gone. `restart()` stops the board and starts it again on the
 * same ports. A QEMU console serves one client at a time, drops output while no client is
 * connected, and needs a carriage return from a late client to print `login:` again.
 */
export async function startQemuBoard({ ports, shareDir, waitForClient = false }) {
  checkPorts(ports);
  if (shareDir !== undefined && !statSync(shareDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`shareDir ${shareDir} is not a folder`);
  }
  const args = qemuArguments({ ports, shareDir, waitForClient });

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
