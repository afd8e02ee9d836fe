// Telnet command and option codes, and their names for log messages.

/** Telnet command codes (RFC 854). */
export const TelnetCommand = {
  SE: 240,
  NOP: 241,
  DM: 242,
  BRK: 243,
  IP: 244,
  AO: 245,
  AYT: 246,
  EC: 247,
  EL: 248,
  GA: 249,
  SB: 250,
  WILL: 251,
  WONT: 252,
  DO: 253,
  DONT: 254,
  IAC: 255,
} as const;

/** Telnet option codes, named as in the RFCs that define them and in arpa/telnet.h. */
export const TelnetOption = {
  BINARY: 0,
  ECHO: 1,
  SGA: 3,
  STATUS: 5,
  TIMING_MARK: 6,
  TTYPE: 24,
  NAWS: 31,
  TSPEED: 32,
  LFLOW: 33,
  LINEMODE: 34,
  XDISPLOC: 35,
  OLD_ENVIRON: 36,
  AUTHENTICATION: 37,
  ENCRYPT: 38,
  NEW_ENVIRON: 39,
} as const;

/** The four commands that negotiate an option. */
export type NegotiationCommand =
  | typeof TelnetCommand.WILL
  | typeof TelnetCommand.WONT
  | typeof TelnetCommand.DO
  | typeof TelnetCommand.DONT;

const commandNames = new Map<number, string>(
  Object.entries(TelnetCommand).map(([name, code]) => [code, name]),
);
const optionNames = new Map<number, string>(
  Object.entries(TelnetOption).map(([name, code]) => [code, name.replace('_', '-')]),
);

/** Returns the RFC name of a command code, or `command <code>` for an unknown one. */
export function commandName(command: number): string {
  return commandNames.get(command) ?? `command ${command}`;
}

/** Returns the RFC name of an option code, or `option <code>` for an unknown one. */
export function optionName(option: number): string {
  return optionNames.get(option) ?? `option ${option}`;
}
