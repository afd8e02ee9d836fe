// Types of qemu-board.mjs for the TypeScript tests that import it.

export const BOARD_CONSOLES: readonly ['ttyAMA0', 'ttyS0', 'ttyS1', 'ttyS2'];
export const GUEST_SHARE_DIR: '/mnt/shared';

export function freePorts(n: number): Promise<number[]>;

export interface QemuBoardOptions {
  /** TCP ports on 127.0.0.1 for ttyAMA0, ttyS0, ttyS1 and ttyS2, in that order. */
  ports: readonly number[];
  /** A host folder that the guest mounts at /mnt/shared over 9p. */
  shareDir?: string;
  /** Hold the guest until a client connects to ports[0]. */
  waitForClient?: boolean;
  /**
   * Up to four files, in the order of `ports`, that receive everything the guest prints on that
   * console, connected client or not (QEMU's chardev `logfile`). An empty entry writes none.
   */
  logFiles?: readonly (string | undefined)[];
}

export interface QemuBoard {
  /** QEMU's process ID; a new one after restart(). */
  readonly pid: number;
  readonly ports: number[];
  /** What QEMU printed lately (its own messages, not the guest's consoles). */
  output(): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export function startQemuBoard(options: QemuBoardOptions): Promise<QemuBoard>;
