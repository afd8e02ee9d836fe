/**
 * RMI commands and status codes of TF-RMM v0.4.0 (RMM specification 1.0-EAC5), the RMM of the
 * Arm reference stack AEMFVP-A-RME-2023.12.22.
 */

/** Base of the RMI function ids: SMC64, fast call, standard secure service range. */
export const RMI_FID_BASE = 0xc4000150;

/** One RMI command of the v0.4.0 table. */
export interface RmiCommand {
  /** Command name without its `SMC_RMM_`/`SMC_RMI_` prefix, for example `REC_CREATE`. */
  name: string;
  /** Offset from {@link RMI_FID_BASE}, so the function id is `0xC4000150 + offset`. */
  offset: number;
  /**
   * Names of the input arguments X1, X2, ... in order, given only where the order is certain.
   * An empty list means the names are not stated here, and callers fall back to `arg1`, `arg2`.
   */
  argumentNames: readonly string[];
}

// NOTE: argument order changed between RMM specification drafts. An RMM log of the 2023.09.29
// stack shows REC_CREATE taking the REC first and the RD second, while v0.4.0 takes the RD
// first. Names are given only for one-argument commands and for those whose order is the same
// in the v0.4.0 header and in v0.4.0 to v0.8.0 logs.
const COMMANDS: readonly RmiCommand[] = [
  { name: 'VERSION', offset: 0x00, argumentNames: [] },
  { name: 'GRANULE_DELEGATE', offset: 0x01, argumentNames: ['addr'] },
  { name: 'GRANULE_UNDELEGATE', offset: 0x02, argumentNames: ['addr'] },
  { name: 'DATA_CREATE', offset: 0x03, argumentNames: [] },
  { name: 'DATA_CREATE_UNKNOWN', offset: 0x04, argumentNames: [] },
  { name: 'DATA_DESTROY', offset: 0x05, argumentNames: [] },
  { name: 'REALM_ACTIVATE', offset: 0x07, argumentNames: ['rd'] },
  { name: 'REALM_CREATE', offset: 0x08, argumentNames: ['rd', 'params_ptr'] },
  { name: 'REALM_DESTROY', offset: 0x09, argumentNames: ['rd'] },
  { name: 'REC_CREATE', offset: 0x0a, argumentNames: [] },
  { name: 'REC_DESTROY', offset: 0x0b, argumentNames: ['rec'] },
  { name: 'REC_ENTER', offset: 0x0c, argumentNames: ['rec', 'run_ptr'] },
  { name: 'RTT_CREATE', offset: 0x0d, argumentNames: [] },
  { name: 'RTT_DESTROY', offset: 0x0e, argumentNames: [] },
  { name: 'RTT_MAP_UNPROTECTED', offset: 0x0f, argumentNames: [] },
  { name: 'RTT_READ_ENTRY', offset: 0x11, argumentNames: ['rd', 'ipa', 'level'] },
  { name: 'RTT_UNMAP_UNPROTECTED', offset: 0x12, argumentNames: [] },
  { name: 'PSCI_COMPLETE', offset: 0x14, argumentNames: [] },
  { name: 'FEATURES', offset: 0x15, argumentNames: ['index'] },
  { name: 'RTT_FOLD', offset: 0x16, argumentNames: [] },
  { name: 'REC_AUX_COUNT', offset: 0x17, argumentNames: ['rd'] },
  { name: 'RTT_INIT_RIPAS', offset: 0x18, argumentNames: [] },
  { name: 'RTT_SET_RIPAS', offset: 0x19, argumentNames: [] },
];

/** The 23 RMI commands of TF-RMM v0.4.0, in function id order. */
export const RMI_COMMANDS_V0_4_0: readonly RmiCommand[] = COMMANDS;

/** Returns the command without its `SMC_RMM_` or `SMC_RMI_` prefix, or the name unchanged. */
export function stripRmiPrefix(name: string): string {
  return name.replace(/^SMC_RM[MI]_/, '');
}

/** Finds a v0.4.0 command by name, with or without its `SMC_RMM_`/`SMC_RMI_` prefix. */
export function findRmiCommand(name: string): RmiCommand | undefined {
  const bare = stripRmiPrefix(name);
  return COMMANDS.find((command) => command.name === bare);
}

/** Returns the SMC function id of a v0.4.0 command, for example 0xC400015A for REC_CREATE. */
export function rmiFunctionId(command: RmiCommand): number {
  return RMI_FID_BASE + command.offset;
}

/** Returns the name of the zero-based input argument, or `arg1`, `arg2`... when not known. */
export function rmiArgumentName(command: RmiCommand | undefined, index: number): string {
  return command?.argumentNames[index] ?? `arg${index + 1}`;
}

/** Status codes in the low byte of X0, as of TF-RMM v0.4.0. */
export const RMI_STATUS_CODES: Readonly<Record<string, number>> = {
  RMI_SUCCESS: 0,
  RMI_ERROR_INPUT: 1,
  RMI_ERROR_REALM: 2,
  RMI_ERROR_REC: 3,
  RMI_ERROR_RTT: 4,
};

const STATUS_DESCRIPTIONS: Readonly<Record<string, string>> = {
  RMI_SUCCESS: 'The command completed.',
  RMI_ERROR_INPUT: 'An input argument is invalid, for example an address that is not aligned.',
  RMI_ERROR_REALM: 'The realm is in a state, or has an attribute, that does not allow the command.',
  RMI_ERROR_REC: 'The REC is in a state that does not allow the command.',
  RMI_ERROR_RTT:
    'An RTT walk failed or found an entry in the wrong state; the index is the RTT level reached.',
};

/**
 * Returns a one-sentence description of an RMI status, by name (`RMI_ERROR_RTT`) or by code,
 * or undefined for a status that TF-RMM v0.4.0 does not define.
 */
export function describeStatus(status: string | number): string | undefined {
  const name =
    typeof status === 'number'
      ? Object.keys(RMI_STATUS_CODES).find((key) => RMI_STATUS_CODES[key] === status)
      : status;
  if (name === undefined || !Object.hasOwn(STATUS_DESCRIPTIONS, name)) return undefined;
  return STATUS_DESCRIPTIONS[name];
}
