// Encoders for the bytes a telnet client sends.

import { TelnetCommand, TelnetOption, type NegotiationCommand } from './codes';

const { IAC, SB, SE } = TelnetCommand;

/** Doubles each 0xFF byte, as data sent on a telnet connection needs. */
export function escapeIac(bytes: Uint8Array): Uint8Array {
  let count = 0;
  for (let index = bytes.indexOf(IAC); index !== -1; index = bytes.indexOf(IAC, index + 1)) {
    count += 1;
  }
  if (count === 0) return bytes;

  const escaped = new Uint8Array(bytes.length + count);
  let target = 0;
  for (const byte of bytes) {
    escaped[target++] = byte;
    if (byte === IAC) escaped[target++] = IAC;
  }
  return escaped;
}

/** Encodes IAC <command> <option> for WILL, WONT, DO or DONT. */
export function encodeNegotiation(command: NegotiationCommand, option: number): Uint8Array {
  return Uint8Array.of(IAC, command, option);
}

/** Encodes IAC SB <option> <payload> IAC SE, with 0xFF bytes of the payload doubled. */
export function encodeSubnegotiation(option: number, payload: Uint8Array): Uint8Array {
  const escaped = escapeIac(payload);
  const bytes = new Uint8Array(escaped.length + 5);
  bytes.set([IAC, SB, option]);
  bytes.set(escaped, 3);
  bytes.set([IAC, SE], 3 + escaped.length);
  return bytes;
}

/**
 * Encodes the NAWS subnegotiation (RFC 1073): width and height as 16-bit big-endian numbers.
 * Sizes are truncated to integers and clamped to 0..65535.
 */
export function encodeNaws(columns: number, rows: number): Uint8Array {
  if (!Number.isFinite(columns) || !Number.isFinite(rows)) {
    throw new RangeError(`invalid window size ${columns}x${rows}: expected finite numbers`);
  }
  const clamp = (value: number): number => Math.min(0xffff, Math.max(0, Math.trunc(value)));
  const width = clamp(columns);
  const height = clamp(rows);
  const payload = Uint8Array.of(width >> 8, width & 0xff, height >> 8, height & 0xff);
  return encodeSubnegotiation(TelnetOption.NAWS, payload);
}
