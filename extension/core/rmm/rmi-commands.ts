import { isRmmVersionFamily, rmmVersionFamily, type RmmVersionFamily } from './rmm-version';
import {
  RMI_FAMILY_TABLES,
  RMI_STATUS_DESCRIPTIONS,
  type RmiCommandEntry,
  type RmiStatusEntry,
} from './rmi-tables';

/**
 * RMI commands and status codes of each TF-RMM version family. Functions take a TF-RMM version
 * (`0.8.0`) or a family name (`v0.8`). Without either, or with an invalid one, they use the
 * numbering of TF-RMM v0.4.0 (RMM specification 1.0-EAC5), which is the RMM of the Arm
 * reference stack AEMFVP-A-RME-2023.12.22.
 */

export type { RmiStatusEntry } from './rmi-tables';

/** Base of the RMI function ids: SMC64, fast call, standard secure service range. */
export const RMI_FID_BASE = 0xc4000150;

/** One RMI command of a family's table. */
export type RmiCommand = RmiCommandEntry;

/** Family assumed when the TF-RMM version is not known: the one of v0.4.0. */
export const DEFAULT_RMM_FAMILY: RmmVersionFamily = 'v0.3-v0.5';

/** The numbering that a version or family selects, with the words to name it in messages. */
export interface RmiNumbering {
  family: RmmVersionFamily;
  /** True when no valid version or family was given and the v0.4.0 numbering was assumed. */
  assumed: boolean;
  /** False for families whose function ids are not established, so none is shown. */
  functionIdsKnown: boolean;
  /** For example `TF-RMM v0.8 numbering`. */
  label: string;
}

const byOffset = (a: RmiCommand, b: RmiCommand): number => a.offset - b.offset;

const COMMANDS: Readonly<Record<RmmVersionFamily, readonly RmiCommand[]>> = {
  'v0.1-v0.2': [...RMI_FAMILY_TABLES['v0.1-v0.2'].commands].sort(byOffset),
  'v0.3-v0.5': [...RMI_FAMILY_TABLES['v0.3-v0.5'].commands].sort(byOffset),
  'v0.6-v0.7': [...RMI_FAMILY_TABLES['v0.6-v0.7'].commands].sort(byOffset),
  'v0.8': [...RMI_FAMILY_TABLES['v0.8'].commands].sort(byOffset),
  'v0.9+': [...RMI_FAMILY_TABLES['v0.9+'].commands].sort(byOffset),
};

/** The 23 RMI commands of TF-RMM v0.4.0, in function id order. */
export const RMI_COMMANDS_V0_4_0: readonly RmiCommand[] = COMMANDS['v0.3-v0.5'];

/** Selects the numbering of a TF-RMM version (`0.8.0`) or family (`v0.8`). */
export function rmiNumbering(version?: string): RmiNumbering {
  const text = version?.trim() ?? '';
  const family = isRmmVersionFamily(text) ? text : rmmVersionFamily(text);
  if (family === undefined) {
    return {
      family: DEFAULT_RMM_FAMILY,
      assumed: true,
      functionIdsKnown: true,
      label: 'TF-RMM v0.4.0 numbering (no TF-RMM version set)',
    };
  }
  return {
    family,
    assumed: false,
    functionIdsKnown: COMMANDS[family].length > 0,
    label: `TF-RMM ${family} numbering`,
  };
}

/** Returns the commands of a version or family, in function id order. */
export function rmiCommands(version?: string): readonly RmiCommand[] {
  return COMMANDS[rmiNumbering(version).family];
}

/** Returns the status codes that a version or family defines. */
export function rmiStatuses(version?: string): readonly RmiStatusEntry[] {
  return RMI_FAMILY_TABLES[rmiNumbering(version).family].statuses;
}

/** Returns the command without its `SMC_RMM_` or `SMC_RMI_` prefix, or the name unchanged. */
export function stripRmiPrefix(name: string): string {
  return name.replace(/^SMC_RM[MI]_/, '');
}

/**
 * Finds a command by name, with or without its `SMC_RMM_`/`SMC_RMI_` prefix, in the table of a
 * version or family. Returns undefined for a command that the table does not list.
 */
export function findRmiCommand(name: string, version?: string): RmiCommand | undefined {
  const bare = stripRmiPrefix(name);
  return rmiCommands(version).find((command) => command.name === bare);
}

/** Returns the SMC function id of a command, for example 0xC400015A for REC_CREATE. */
export function rmiFunctionId(command: RmiCommand): number {
  return RMI_FID_BASE + command.offset;
}

/** Formats a function id as TF-RMM's headers write it, for example `0xC400015A`. */
export function formatFunctionId(id: number): string {
  return `0x${id.toString(16).toUpperCase()}`;
}

/** Returns the name of the zero-based input argument, or `arg1`, `arg2`... when not known. */
export function rmiArgumentName(command: RmiCommand | undefined, index: number): string {
  return command?.argumentNames[index] ?? `arg${index + 1}`;
}

/** Status codes in the low byte of X0, as of TF-RMM v0.4.0. */
export const RMI_STATUS_CODES: Readonly<Record<string, number>> = Object.fromEntries(
  RMI_FAMILY_TABLES[DEFAULT_RMM_FAMILY].statuses
    .filter((entry) => entry.releases === undefined)
    .map((entry) => [entry.name, entry.code]),
);

/** Returns the code of a status name such as `RMI_ERROR_RTT`, or undefined if not defined. */
export function statusCode(name: string, version?: string): number | undefined {
  return rmiStatuses(version).find((entry) => entry.name === name)?.code;
}

/** Returns the name of a status code, or undefined for a code the version does not define. */
export function statusName(code: number, version?: string): string | undefined {
  return rmiStatuses(version).find((entry) => entry.code === code)?.name;
}

/**
 * Returns a one-sentence description of an RMI status, by name (`RMI_ERROR_RTT`) or by code, or
 * undefined for a status that the version or family does not define.
 */
export function describeStatus(status: string | number, version?: string): string | undefined {
  const name = typeof status === 'number' ? statusName(status, version) : status;
  if (name === undefined || statusCode(name, version) === undefined) return undefined;
  return Object.hasOwn(RMI_STATUS_DESCRIPTIONS, name) ? RMI_STATUS_DESCRIPTIONS[name] : undefined;
}
