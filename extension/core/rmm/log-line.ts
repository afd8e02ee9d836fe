import { findRmiCommand, statusCode, stripRmiPrefix } from './rmi-commands';

/** Half-open range of UTF-16 code units in the line, `[start, end)`. */
export interface TextRange {
  start: number;
  end: number;
}

/** A hexadecimal value in a log line, as printed and as a number. */
export interface RmiLogValue {
  /** The digits as printed, without a `0x` prefix. */
  text: string;
  value: bigint;
  range: TextRange;
}

/** One RMI call as TF-RMM prints it on exit from the handler. */
export interface RmiLogLine {
  /** Text before the command name: a terminal mux tag, a timestamp, or empty. */
  prefix: string;
  prefixRange: TextRange;
  /** Full name as printed, for example `SMC_RMM_REC_CREATE`. */
  name: string;
  /** Name without its `SMC_RMM_`/`SMC_RMI_` prefix, for example `REC_CREATE`. */
  command: string;
  nameRange: TextRange;
  /** Input arguments X1, X2, ... in order. */
  args: RmiLogValue[];
  /** The `>` between the arguments and the status. */
  separatorRange: TextRange;
  /**
   * Status name such as `RMI_ERROR_RTT`, or X0 in hex as printed when the RMM has no name for
   * it (older versions print VERSION's result and unknown status codes this way).
   */
  status: string;
  /**
   * Code of a named status in the numbering of the TF-RMM version given to the parser (v0.4.0
   * when none), or undefined for names that numbering lacks and for numbers.
   */
  statusCode: number | undefined;
  statusRange: TextRange;
  /** Error index (for RMI_ERROR_RTT the RTT level), when the line carries one. */
  index: RmiLogValue | undefined;
  /** Output values X1, X2, ... after the status and index. */
  outputs: RmiLogValue[];
}

// The name may follow any prefix that does not end in a name character. Arguments and outputs
// are hex words separated by spaces or tabs, because TF-RMM pads them with `%8lx` in some versions.
const RMI_LINE =
  /(?<![A-Za-z0-9_])(SMC_RM[MI]_[A-Z0-9_]+)((?:[ \t]+(?:0x)?[0-9a-fA-F]+)*)[ \t]+(>)[ \t]+(RMI_[A-Z_]+|(?:0x)?[0-9a-fA-F]+)((?:[ \t]+(?:0x)?[0-9a-fA-F]+)*)[ \t]*\r?$/d;

const HEX_WORD = /(?:0x)?([0-9a-fA-F]+)/g;

/** Statuses after which TF-RMM prints the error index before the output values. */
const STATUSES_WITH_INDEX = new Set(['RMI_ERROR_REALM', 'RMI_ERROR_RTT']);

/**
 * Parses one console line into an RMI call, or returns undefined when the line is not one.
 * Accepts both the `SMC_RMM_` (TF-RMM up to v0.5.0) and `SMC_RMI_` (v0.6.0 and later) names, any
 * padding after the name (21 columns up to v0.7.0, 25 from v0.8.0) and any prefix before the
 * name, such as Shrinkwrap's `[     rmm ] ` tag. `version` is a TF-RMM version or family name
 * and selects the status numbering; v0.4.0 when undefined.
 */
export function parseRmiLogLine(line: string, version?: string): RmiLogLine | undefined {
  const match = RMI_LINE.exec(line);
  const indices = match?.indices;
  if (!match || !indices) return undefined;

  const [nameStart, nameEnd] = indices[1] ?? [0, 0];
  const name = match[1] ?? '';
  const status = match[4] ?? '';
  const [statusStart, statusEnd] = indices[4] ?? [0, 0];
  const [separatorStart, separatorEnd] = indices[3] ?? [0, 0];
  const args = readHexWords(match[2] ?? '', indices[2]?.[0] ?? 0);
  const trailing = readHexWords(match[5] ?? '', indices[5]?.[0] ?? 0);

  // NOTE: the index and the outputs look alike in the log. The first value after
  // RMI_ERROR_REALM or RMI_ERROR_RTT is taken as the index, as TF-RMM's logger prints it, so a
  // version that omits the index after those statuses would have its first output misread.
  const index = STATUSES_WITH_INDEX.has(status) ? trailing.shift() : undefined;

  return {
    prefix: line.slice(0, nameStart),
    prefixRange: { start: 0, end: nameStart },
    name,
    command: stripRmiPrefix(name),
    nameRange: { start: nameStart, end: nameEnd },
    args,
    separatorRange: { start: separatorStart, end: separatorEnd },
    status,
    statusCode: statusCode(status, version),
    statusRange: { start: statusStart, end: statusEnd },
    index,
    outputs: trailing,
  };
}

/** Returns whether the parsed command is in the table of a TF-RMM version (v0.4.0 by default). */
export function isKnownRmiCommand(line: RmiLogLine, version?: string): boolean {
  return findRmiCommand(line.command, version) !== undefined;
}

function readHexWords(text: string, offset: number): RmiLogValue[] {
  return [...text.matchAll(HEX_WORD)].map((word) => {
    const digits = word[1] ?? '';
    const start = offset + word.index + word[0].length - digits.length;
    return {
      text: digits,
      value: BigInt(`0x${digits}`),
      range: { start, end: start + digits.length },
    };
  });
}
