import type { RmmVersionFamily } from './rmm-version';

// RMI command and status tables per TF-RMM version family, written from TF-RMM's own sources:
// `lib/smc/include/smc-rmi.h` (function id offsets, argument comments, status values),
// `runtime/core/handler.c` (which commands a release has) and `docs/about/change-log.rst`.
// Commits named below are TF-RMM commits unless another repository is named.

/** One RMI command: its name, its offset from 0xC4000150, and the names of X1, X2, ... */
export interface RmiCommandEntry {
  /** Command name without its `SMC_RMM_`/`SMC_RMI_` prefix, for example `REC_CREATE`. */
  name: string;
  /** Offset from the first RMI function id, 0xC4000150. */
  offset: number;
  /**
   * Names of the input arguments X1, X2, ... in order, given only where the order is certain
   * for the whole family. An empty list means callers fall back to `arg1`, `arg2`.
   */
  argumentNames: readonly string[];
}

/** One status code in the low byte of X0. */
export interface RmiStatusEntry {
  /** Name as the RMM prints it, for example `RMI_ERROR_RTT`. */
  name: string;
  code: number;
  /** Releases of the family that define it, when not all of them do. */
  releases?: string;
}

function command(name: string, offset: number, ...argumentNames: string[]): RmiCommandEntry {
  return { name, offset, argumentNames };
}

function status(name: string, code: number, releases?: string): RmiStatusEntry {
  return releases === undefined ? { name, code } : { name, code, releases };
}

// The 23 commands of RMM 1.0 keep their offsets from v0.1.0 to v0.8.x. The v0.1.0 handler.c
// (commit b4c6df4, whose change log lists only v0.1.0) has exactly these. smc-rmi.h gives the
// same offsets in the v0.3.0 snapshot in 0xabu/coregapcvm-rmm (commit 0de7a11, CMakeLists.txt
// at 0.3.0), in main at 54dbd47 (v0.6.0 era: it has the RMM_V1_1 option of v0.6.0 and names
// that v0.7.0 replaced) and in main between v0.8.0 and v0.9.0.
// Offsets 0x06, 0x10 and 0x13 are unused up to v0.5.0, and none of the headers read defines
// RTT_MAP_PROTECTED or RTT_UNMAP_PROTECTED.

// RMM 1.0-Beta0 argument order (v0.1.0 to v0.3.0): the granule being created comes before the
// RD. From the argument comments of the v0.3.0 snapshot's smc-rmi.h and of the v0.1.0-era header
// (RMI ABI 56.0), with the argument counts of the v0.1.0 handler.c.
const BETA0_COMMANDS: readonly RmiCommandEntry[] = [
  command('VERSION', 0x00),
  command('GRANULE_DELEGATE', 0x01, 'addr'),
  command('GRANULE_UNDELEGATE', 0x02, 'addr'),
  command('DATA_CREATE', 0x03, 'data', 'rd', 'ipa', 'src', 'flags'),
  command('DATA_CREATE_UNKNOWN', 0x04, 'data', 'rd', 'ipa'),
  command('DATA_DESTROY', 0x05, 'rd', 'ipa'),
  command('REALM_ACTIVATE', 0x07, 'rd'),
  command('REALM_CREATE', 0x08, 'rd', 'params_ptr'),
  command('REALM_DESTROY', 0x09, 'rd'),
  command('REC_CREATE', 0x0a, 'rec', 'rd', 'params_ptr'),
  command('REC_DESTROY', 0x0b, 'rec'),
  command('REC_ENTER', 0x0c, 'rec', 'run_ptr'),
  command('RTT_CREATE', 0x0d, 'rtt', 'rd', 'ipa', 'level'),
  command('RTT_DESTROY', 0x0e, 'rtt', 'rd', 'ipa', 'level'),
  command('RTT_MAP_UNPROTECTED', 0x0f, 'rd', 'ipa', 'level', 's2tte'),
  command('RTT_READ_ENTRY', 0x11, 'rd', 'ipa', 'level'),
  command('RTT_UNMAP_UNPROTECTED', 0x12, 'rd', 'ipa', 'level'),
  command('PSCI_COMPLETE', 0x14, 'calling_rec', 'target_rec'),
  command('FEATURES', 0x15, 'index'),
  command('RTT_FOLD', 0x16, 'rtt', 'rd', 'ipa', 'level'),
  command('REC_AUX_COUNT', 0x17, 'rd'),
  command('RTT_INIT_RIPAS', 0x18, 'rd', 'ipa', 'level'),
  command('RTT_SET_RIPAS', 0x19, 'rd', 'rec', 'ipa', 'level', 'ripas'),
];

// RMM 1.0-EAC5 argument order (v0.4.0 and later): the RD comes first. The argument comments
// agree in smc-rmi.h of main at 54dbd47, of main between v0.8.0 and v0.9.0 and of main at
// 0568973 (after v0.9.0).
const EAC_COMMANDS: readonly RmiCommandEntry[] = [
  command('VERSION', 0x00, 'requested_version'),
  command('GRANULE_DELEGATE', 0x01, 'addr'),
  command('GRANULE_UNDELEGATE', 0x02, 'addr'),
  command('DATA_CREATE', 0x03, 'rd', 'data', 'ipa', 'src', 'flags'),
  command('DATA_CREATE_UNKNOWN', 0x04, 'rd', 'data', 'ipa'),
  command('DATA_DESTROY', 0x05, 'rd', 'ipa'),
  command('REALM_ACTIVATE', 0x07, 'rd'),
  command('REALM_CREATE', 0x08, 'rd', 'params_ptr'),
  command('REALM_DESTROY', 0x09, 'rd'),
  command('REC_CREATE', 0x0a, 'rd', 'rec', 'params_ptr'),
  command('REC_DESTROY', 0x0b, 'rec'),
  command('REC_ENTER', 0x0c, 'rec', 'run_ptr'),
  command('RTT_CREATE', 0x0d, 'rd', 'rtt', 'ipa', 'level'),
  command('RTT_DESTROY', 0x0e, 'rd', 'ipa', 'level'),
  command('RTT_MAP_UNPROTECTED', 0x0f, 'rd', 'ipa', 'level', 's2tte'),
  command('RTT_READ_ENTRY', 0x11, 'rd', 'ipa', 'level'),
  command('RTT_UNMAP_UNPROTECTED', 0x12, 'rd', 'ipa', 'level'),
  command('PSCI_COMPLETE', 0x14, 'calling_rec', 'target_rec'),
  command('FEATURES', 0x15, 'index'),
  command('RTT_FOLD', 0x16, 'rd', 'ipa', 'level'),
  command('REC_AUX_COUNT', 0x17, 'rd'),
  command('RTT_INIT_RIPAS', 0x18, 'rd', 'base', 'top'),
  command('RTT_SET_RIPAS', 0x19, 'rd', 'rec', 'base', 'top'),
];

// NOTE: v0.3.0 still takes the Beta0 order and v0.4.0 the EAC5 order, so the family keeps
// argument names only for commands whose order is the same in both. An RMM log of the
// 2023.09.29 reference stack shows the Beta0 order (REC_CREATE with the REC first).
const V03_V05_COMMANDS: readonly RmiCommandEntry[] = EAC_COMMANDS.map((entry) => {
  const beta0 = BETA0_COMMANDS.find((other) => other.name === entry.name);
  const same = beta0?.argumentNames.join() === entry.argumentNames.join();
  return same || entry.name === 'VERSION' ? entry : { ...entry, argumentNames: [] };
});

// RMM 1.1 prototype commands with the same name and offset in smc-rmi.h of main at 54dbd47 and
// of main between v0.8.0 and v0.9.0, except where a comment notes otherwise. The v0.8.0 change
// log names the PDEV, VDEV and auxiliary RTT commands.
const RMM_1_1_COMMANDS: readonly RmiCommandEntry[] = [
  command('PDEV_AUX_COUNT', 0x06),
  command('VDEV_AUX_COUNT', 0x10),
  // Name from the v0.7.0 change log and the handler.c of main at 0222d61; the offsets hold
  // DEV_MAP at 54dbd47 and VDEV_MAP after v0.8.0.
  command('DEV_MEM_MAP', 0x22),
  command('DEV_MEM_UNMAP', 0x23),
  command('PDEV_ABORT', 0x24),
  command('PDEV_COMMUNICATE', 0x25),
  command('PDEV_CREATE', 0x26),
  command('PDEV_DESTROY', 0x27),
  command('PDEV_GET_STATE', 0x28),
  command('PDEV_IDE_RESET', 0x29),
  // At 54dbd47 and in the v0.8.0 change log; main later names this offset PDEV_IDE_KEY_REFRESH.
  command('PDEV_NOTIFY', 0x2a),
  command('PDEV_SET_PUBKEY', 0x2b),
  command('PDEV_STOP', 0x2c),
  command('RTT_AUX_CREATE', 0x2d),
  command('RTT_AUX_DESTROY', 0x2e),
  command('RTT_AUX_FOLD', 0x2f),
  command('RTT_AUX_MAP_PROTECTED', 0x30),
  command('RTT_AUX_MAP_UNPROTECTED', 0x31),
  command('RTT_AUX_UNMAP_PROTECTED', 0x33),
  command('RTT_AUX_UNMAP_UNPROTECTED', 0x34),
  command('VDEV_ABORT', 0x35),
  command('VDEV_COMMUNICATE', 0x36),
  command('VDEV_CREATE', 0x37),
  command('VDEV_DESTROY', 0x38),
  command('VDEV_GET_STATE', 0x39),
  command('RTT_SET_S2AP', 0x3b),
  command('MEC_SET_SHARED', 0x3c),
  command('MEC_SET_PRIVATE', 0x3d),
  command('VDEV_COMPLETE', 0x3e),
];

// Names used on main at 54dbd47 only: the v0.7.0 change log folds device granules into
// GRANULE_DELEGATE and names the mapping commands DEV_MEM_MAP and DEV_MEM_UNMAP, and main
// between v0.8.0 and v0.9.0 names offset 0x3a VDEV_UNLOCK.
const V06_ONLY_COMMANDS: readonly RmiCommandEntry[] = [
  command('GRANULE_DEV_DELEGATE', 0x20),
  command('GRANULE_DEV_UNDELEGATE', 0x21),
  command('DEV_MAP', 0x22),
  command('DEV_UNMAP', 0x23),
  command('VDEV_STOP', 0x3a),
];

// Status codes: RMM 1.0 defines 0 to 4 in every release.
const BASE_STATUSES: readonly RmiStatusEntry[] = [
  status('RMI_SUCCESS', 0),
  status('RMI_ERROR_INPUT', 1),
  status('RMI_ERROR_REALM', 2),
  status('RMI_ERROR_REC', 3),
  status('RMI_ERROR_RTT', 4),
];

// v0.8.0 swapped the two RMM 1.1 codes of v0.6 and v0.7. The v0.6-v0.7 values are those of
// smc-rmi.h at 54dbd47. NOT_SUPPORTED 5 and DEVICE 6 hold in every later header read.
const RMM_1_1_STATUSES: readonly RmiStatusEntry[] = [
  status('RMI_ERROR_NOT_SUPPORTED', 5),
  status('RMI_ERROR_DEVICE', 6),
  status('RMI_ERROR_RTT_AUX', 7),
];

/** Commands and status codes of one family. */
export interface RmiFamilyTables {
  commands: readonly RmiCommandEntry[];
  statuses: readonly RmiStatusEntry[];
}

/** The tables of each family. */
export const RMI_FAMILY_TABLES: Readonly<Record<RmmVersionFamily, RmiFamilyTables>> = {
  // Status 5 is RMI_ERROR_IN_USE: the v0.1.0 handler.c prints the six names SUCCESS to IN_USE
  // by value, and status.h of that time numbers them 0 to 5.
  // NOTE: v0.1.0 and v0.2.0 print five padded values on every line, whatever the command's
  // argument count, so values after the named ones are other registers.
  'v0.1-v0.2': {
    commands: BETA0_COMMANDS,
    statuses: [...BASE_STATUSES, status('RMI_ERROR_IN_USE', 5)],
  },
  // v0.3.0 still defines RMI_ERROR_IN_USE (smc-rmi.h of the v0.3.0 snapshot). The RMM 1.0-EAC
  // headers after it (RMI ABI 66.0 with SMC_RMM_ names, then ABI 1.0) define 0 to 4 only.
  'v0.3-v0.5': {
    commands: V03_V05_COMMANDS,
    statuses: [...BASE_STATUSES, status('RMI_ERROR_IN_USE', 5, 'v0.3.0 only')],
  },
  'v0.6-v0.7': {
    commands: [...EAC_COMMANDS, ...RMM_1_1_COMMANDS, ...V06_ONLY_COMMANDS],
    statuses: [
      ...BASE_STATUSES,
      status('RMI_ERROR_DEVICE', 5),
      status('RMI_ERROR_NOT_SUPPORTED', 6),
      status('RMI_ERROR_RTT_AUX', 7),
    ],
  },
  // NOTE: the v0.8.0 header itself was not available. This family holds what main at 54dbd47
  // (before v0.7.0) and main between v0.8.0 and v0.9.0 share, checked against the names in the
  // v0.8.0 change log.
  'v0.8': {
    commands: [...EAC_COMMANDS, ...RMM_1_1_COMMANDS],
    statuses: [...BASE_STATUSES, ...RMM_1_1_STATUSES],
  },
  // NOTE: v0.9.0 aligns with RMM 2.0, and a fork of main at that point (gwshan/tf-rmm commit
  // 01ed6d8) reuses offset 0x03 for RTT_DATA_MAP_INIT. Main at 0568973 has no GRANULE_DELEGATE
  // and uses ids up to 0xC400020A. Without the v0.9.0 header at hand, this family gives no
  // function id. Its status codes agree in that fork (8 to 11 and 15) and in main at 0568973,
  // which adds 12 to 14 and 16.
  'v0.9+': {
    commands: [],
    statuses: [
      ...BASE_STATUSES,
      ...RMM_1_1_STATUSES,
      status('RMI_ERROR_PSMMU_ST', 8),
      status('RMI_ERROR_DPT', 9),
      status('RMI_BUSY', 10),
      status('RMI_ERROR_GLOBAL', 11),
      status('RMI_ERROR_TRACKING', 12, 'main after v0.9.0'),
      status('RMI_INCOMPLETE', 13, 'main after v0.9.0'),
      status('RMI_BLOCKED', 14, 'main after v0.9.0'),
      status('RMI_ERROR_GPT', 15),
      status('RMI_ERROR_GRANULE', 16, 'main after v0.9.0'),
    ],
  },
};

/** One-sentence meaning of each status name, the same in every family that defines it. */
export const RMI_STATUS_DESCRIPTIONS: Readonly<Record<string, string>> = {
  RMI_SUCCESS: 'The command completed.',
  RMI_ERROR_INPUT: 'An input argument is invalid, for example an address that is not aligned.',
  RMI_ERROR_REALM: 'The realm is in a state, or has an attribute, that does not allow the command.',
  RMI_ERROR_REC: 'The REC is in a state that does not allow the command.',
  RMI_ERROR_RTT:
    'An RTT walk failed or found an entry in the wrong state; the index is the RTT level reached.',
  RMI_ERROR_IN_USE: 'An object the command needs is still in use, so it cannot change state.',
  RMI_ERROR_DEVICE: 'A device object (PDEV or VDEV) is in a state that does not allow the command.',
  RMI_ERROR_NOT_SUPPORTED: 'This RMM does not implement the command or the requested feature.',
  RMI_ERROR_RTT_AUX: 'An entry of an auxiliary RTT (a plane RTT tree) is in the wrong state.',
  RMI_ERROR_PSMMU_ST: 'A walk of a physical SMMU stream table failed or found a wrong entry.',
  RMI_ERROR_DPT: 'A walk of a device permission table failed or found a wrong entry.',
  RMI_BUSY: 'The RMM made no change this time for a reason that may pass; the host may retry.',
  RMI_ERROR_GLOBAL: 'The RMM as a whole is in a state that does not allow the command.',
  RMI_ERROR_TRACKING: 'A granule tracking region is in a state that does not allow the command.',
  RMI_INCOMPLETE:
    'The command started a state change that is not finished; the object waits for it to complete.',
  RMI_BLOCKED: 'An unfinished operation on another object blocks the command; nothing changed.',
  RMI_ERROR_GPT: 'A walk of the granule protection table reached an entry at an unexpected level.',
  RMI_ERROR_GRANULE:
    'A granule is in a state, or has an attribute, that does not allow the command.',
};
