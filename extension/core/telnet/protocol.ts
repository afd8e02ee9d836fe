// The telnet protocol on bytes (RFC 854, RFC 855): a parser for the stream a server sends, and
// the filter for its line ends. This module also re-exports the codes, the encoders and the
// option negotiator, so callers import the whole protocol from one place. Nothing here does I/O.

import { TelnetCommand, type NegotiationCommand } from './codes';

export * from './codes';
export * from './encode';
export { OptionNegotiator } from './negotiator';
export type { NegotiationResult, OptionNegotiatorOptions } from './negotiator';

/**
 * One item of the server's stream. `bytes` of a data event is a view into the chunk given to
 * `push`, so copy it to keep it past the next push.
 */
export type TelnetEvent =
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'negotiation'; command: NegotiationCommand; option: number }
  | { kind: 'subnegotiation'; option: number; bytes: Uint8Array }
  | { kind: 'command'; command: number };

const { IAC, SB, SE } = TelnetCommand;

/** Parser states between two bytes; a sequence may be split across any chunk boundary. */
const ParserState = {
  data: 0,
  command: 1, // after IAC
  option: 2, // after IAC WILL, WONT, DO or DONT
  subnegotiationOption: 3, // after IAC SB
  subnegotiation: 4, // inside IAC SB <option> ... IAC SE
  subnegotiationCommand: 5, // after IAC inside a subnegotiation
} as const;
type ParserState = (typeof ParserState)[keyof typeof ParserState];

// No option the client accepts has a subnegotiation near this size, so a longer one is dropped
// rather than letting a broken server grow the buffer without limit.
const maxSubnegotiationBytes = 64 * 1024;

function isNegotiationCommand(byte: number): byte is NegotiationCommand {
  return byte >= TelnetCommand.WILL && byte <= TelnetCommand.DONT;
}

/**
 * Splits the byte stream a telnet server sends into data, negotiations, subnegotiations and
 * other commands. IAC IAC becomes one 0xFF data byte, also inside a subnegotiation.
 */
export class TelnetParser {
  private state: ParserState = ParserState.data;
  private negotiation: NegotiationCommand = TelnetCommand.WILL;
  private subnegotiationOption = 0;
  private subnegotiationBytes: number[] = [];
  private subnegotiationTooLong = false;

  /** Parses one chunk and returns its events in stream order. */
  push(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    let index = 0;
    while (index < chunk.length) {
      if (this.state === ParserState.data) {
        index = this.pushData(chunk, index, events);
      } else if (this.state === ParserState.subnegotiation) {
        index = this.collectSubnegotiation(chunk, index);
      } else {
        this.pushControlByte(chunk, index, events);
        index += 1;
      }
    }
    return events;
  }

  /** Parses data bytes up to the next command; returns the index after what it consumed. */
  private pushData(chunk: Uint8Array, start: number, events: TelnetEvent[]): number {
    let segmentStart = start;
    let index = start;
    for (;;) {
      const iac = chunk.indexOf(IAC, index);
      if (iac === -1) {
        if (chunk.length > segmentStart) {
          events.push({ kind: 'data', bytes: chunk.subarray(segmentStart, chunk.length) });
        }
        return chunk.length;
      }

      // IAC IAC inside one chunk: keep the first 0xFF in this segment and skip the second, so
      // the common case needs no copy.
      if (iac + 1 < chunk.length && chunk[iac + 1] === IAC) {
        events.push({ kind: 'data', bytes: chunk.subarray(segmentStart, iac + 1) });
        index = iac + 2;
        segmentStart = index;
        continue;
      }

      if (iac > segmentStart) {
        events.push({ kind: 'data', bytes: chunk.subarray(segmentStart, iac) });
      }
      this.state = ParserState.command;
      return iac + 1;
    }
  }

  /** Collects subnegotiation bytes up to the next IAC; returns the index after them. */
  private collectSubnegotiation(chunk: Uint8Array, start: number): number {
    const iac = chunk.indexOf(IAC, start);
    const end = iac === -1 ? chunk.length : iac;
    this.appendSubnegotiation(chunk.subarray(start, end));
    if (iac === -1) return chunk.length;
    this.state = ParserState.subnegotiationCommand;
    return iac + 1;
  }

  private pushControlByte(chunk: Uint8Array, index: number, events: TelnetEvent[]): void {
    const byte = chunk[index];
    switch (this.state) {
      case ParserState.command:
        this.pushCommand(chunk, index, events);
        return;
      case ParserState.option:
        events.push({ kind: 'negotiation', command: this.negotiation, option: byte });
        this.state = ParserState.data;
        return;
      case ParserState.subnegotiationOption:
        this.subnegotiationOption = byte;
        this.subnegotiationBytes = [];
        this.subnegotiationTooLong = false;
        this.state = ParserState.subnegotiation;
        return;
      case ParserState.subnegotiationCommand:
        this.endSubnegotiationCommand(chunk, index, events);
        return;
      case ParserState.data:
      case ParserState.subnegotiation:
        throw new Error(`telnet parser: control byte handled in state ${this.state}`);
    }
  }

  /** Handles the byte after IAC outside a subnegotiation. */
  private pushCommand(chunk: Uint8Array, index: number, events: TelnetEvent[]): void {
    const byte = chunk[index];
    this.state = ParserState.data;
    if (byte === IAC) {
      // The second IAC of a pair that a chunk boundary split: one 0xFF data byte.
      events.push({ kind: 'data', bytes: chunk.subarray(index, index + 1) });
    } else if (isNegotiationCommand(byte)) {
      this.negotiation = byte;
      this.state = ParserState.option;
    } else if (byte === SB) {
      this.state = ParserState.subnegotiationOption;
    } else {
      // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, a stray SE, or a code no RFC defines.
      events.push({ kind: 'command', command: byte });
    }
  }

  /** Handles the byte after IAC inside a subnegotiation. */
  private endSubnegotiationCommand(chunk: Uint8Array, index: number, events: TelnetEvent[]): void {
    const byte = chunk[index];
    if (byte === IAC) {
      this.appendSubnegotiation(chunk.subarray(index, index + 1));
      this.state = ParserState.subnegotiation;
      return;
    }

    this.emitSubnegotiation(events);
    if (byte === SE) {
      this.state = ParserState.data;
      return;
    }
    // IAC followed by anything but SE or IAC ends the subnegotiation that the server forgot to
    // close, and the byte is read as a command of its own.
    this.state = ParserState.command;
    this.pushCommand(chunk, index, events);
  }

  private appendSubnegotiation(bytes: Uint8Array): void {
    if (this.subnegotiationBytes.length + bytes.length > maxSubnegotiationBytes) {
      this.subnegotiationTooLong = true;
      return;
    }
    for (const byte of bytes) this.subnegotiationBytes.push(byte);
  }

  private emitSubnegotiation(events: TelnetEvent[]): void {
    if (!this.subnegotiationTooLong) {
      events.push({
        kind: 'subnegotiation',
        option: this.subnegotiationOption,
        bytes: Uint8Array.from(this.subnegotiationBytes),
      });
    }
    this.subnegotiationBytes = [];
    this.subnegotiationTooLong = false;
  }
}

/**
 * Removes the NUL that RFC 854 puts after a carriage return meant alone, so CR NUL becomes CR
 * and CR LF stays CR LF. It keeps state, because the NUL may come in the next chunk. Use one
 * filter per connection, and only while the server does not send in BINARY mode.
 */
export class CrNulFilter {
  private afterCr = false;

  /** Returns the bytes without those NULs: the same array when there is none to remove. */
  filter(bytes: Uint8Array): Uint8Array {
    if (bytes.length === 0) return bytes;
    const startsWithDroppedNul = this.afterCr && bytes[0] === 0;
    this.afterCr = bytes[bytes.length - 1] === 0x0d;
    if (!startsWithDroppedNul && !hasCrNul(bytes)) return bytes;

    const kept = new Uint8Array(bytes.length);
    let length = 0;
    let previous = startsWithDroppedNul ? 0x0d : -1;
    for (const byte of bytes) {
      if (!(byte === 0 && previous === 0x0d)) kept[length++] = byte;
      previous = byte;
    }
    return kept.subarray(0, length);
  }

  /** Forgets a CR seen at the end of the last chunk, for a new connection or mode. */
  reset(): void {
    this.afterCr = false;
  }
}

function hasCrNul(bytes: Uint8Array): boolean {
  for (let index = bytes.indexOf(0, 1); index !== -1; index = bytes.indexOf(0, index + 1)) {
    if (bytes[index - 1] === 0x0d) return true;
  }
  return false;
}
