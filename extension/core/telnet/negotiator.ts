// The client's side of telnet option negotiation (RFC 855). It only replies to the server and
// never requests an option itself. So the only loop guard needed is RFC 1143's rule: send no
// reply for an option that is already in the requested state.
// NOTE: the client never echoes typed text itself. A server that does not offer WILL ECHO
// expects local echo, so typed text stays invisible there; QEMU 7.2, inetutils-telnetd and
// busybox telnetd all offer WILL ECHO.

import { TelnetCommand, TelnetOption, type NegotiationCommand } from './codes';
import { encodeNaws, encodeNegotiation, encodeSubnegotiation } from './encode';

const { WILL, WONT, DO, DONT } = TelnetCommand;

// The server may send these to the client: it echoes, suppresses GA, and sends 8-bit data.
const acceptedRemoteOptions: ReadonlySet<number> = new Set([
  TelnetOption.ECHO,
  TelnetOption.SGA,
  TelnetOption.BINARY,
]);

// The client does these when asked. TTYPE gives the server's login a TERM value.
const acceptedLocalOptions: ReadonlySet<number> = new Set([
  TelnetOption.BINARY,
  TelnetOption.SGA,
  TelnetOption.NAWS,
  TelnetOption.TTYPE,
]);

// TTYPE subnegotiation codes (RFC 1091).
const ttypeIs = 0;
const ttypeSend = 1;

export interface OptionNegotiatorOptions {
  /** The terminal type sent for TTYPE SEND (RFC 1091 recommends upper case); default XTERM-256COLOR. */
  terminalType?: string;
  /** The window size sent once NAWS is agreed; default 80 columns by 24 rows. */
  columns?: number;
  rows?: number;
}

/** The client's reply to one request from the server. */
export interface NegotiationResult {
  /** The command sent back, or undefined when the option was already in the requested state. */
  reply: NegotiationCommand | undefined;
  /** Every byte to send: the reply, then the window size when NAWS was just agreed. */
  bytes: Uint8Array;
}

const noBytes = new Uint8Array(0);

/**
 * Decides the client's replies to the server's WILL, WONT, DO and DONT, and tracks which
 * options are on. "Local" options are those the client performs, "remote" ones the server.
 * Use one negotiator per connection.
 */
export class OptionNegotiator {
  private readonly local = new Set<number>();
  private readonly remote = new Set<number>();
  private readonly terminalType: Uint8Array;
  private columns: number;
  private rows: number;
  private sentSize: string | undefined;

  constructor(options: OptionNegotiatorOptions = {}) {
    this.terminalType = new TextEncoder().encode(options.terminalType ?? 'XTERM-256COLOR');
    this.columns = options.columns ?? 80;
    this.rows = options.rows ?? 24;
  }

  /** Returns whether the client performs the option (WILL sent and not withdrawn). */
  isLocalEnabled(option: number): boolean {
    return this.local.has(option);
  }

  /** Returns whether the server performs the option (DO sent for its WILL, not withdrawn). */
  isRemoteEnabled(option: number): boolean {
    return this.remote.has(option);
  }

  /** Returns the reply to one WILL, WONT, DO or DONT from the server, and records the result. */
  receive(command: NegotiationCommand, option: number): NegotiationResult {
    switch (command) {
      case WILL:
        return this.receiveWill(option);
      case WONT:
        return this.receiveWont(option);
      case DO:
        return this.receiveDo(option);
      case DONT:
        return this.receiveDont(option);
    }
  }

  /** Returns the reply to a subnegotiation: TTYPE IS for TTYPE SEND, nothing otherwise. */
  receiveSubnegotiation(option: number, bytes: Uint8Array): Uint8Array {
    const isTtypeSend =
      option === TelnetOption.TTYPE && bytes.length >= 1 && bytes[0] === ttypeSend;
    if (!isTtypeSend || !this.local.has(TelnetOption.TTYPE)) return noBytes;
    const payload = new Uint8Array(this.terminalType.length + 1);
    payload[0] = ttypeIs;
    payload.set(this.terminalType, 1);
    return encodeSubnegotiation(TelnetOption.TTYPE, payload);
  }

  /**
   * Records a new window size and returns the NAWS subnegotiation to send, or no bytes when
   * NAWS is off or the size is the one last sent.
   */
  resize(columns: number, rows: number): Uint8Array {
    this.columns = columns;
    this.rows = rows;
    if (!this.local.has(TelnetOption.NAWS)) return noBytes;
    return this.windowSize();
  }

  private windowSize(): Uint8Array {
    const size = `${this.columns}x${this.rows}`;
    if (size === this.sentSize) return noBytes;
    const bytes = encodeNaws(this.columns, this.rows);
    this.sentSize = size;
    return bytes;
  }

  private receiveWill(option: number): NegotiationResult {
    if (this.remote.has(option)) return { reply: undefined, bytes: noBytes };
    if (!acceptedRemoteOptions.has(option)) return reply(DONT, option);
    this.remote.add(option);
    return reply(DO, option);
  }

  private receiveWont(option: number): NegotiationResult {
    if (!this.remote.delete(option)) return { reply: undefined, bytes: noBytes };
    return reply(DONT, option);
  }

  private receiveDo(option: number): NegotiationResult {
    if (this.local.has(option)) return { reply: undefined, bytes: noBytes };
    if (!acceptedLocalOptions.has(option)) return reply(WONT, option);
    this.local.add(option);
    const willReply = reply(WILL, option);
    if (option !== TelnetOption.NAWS) return willReply;

    // RFC 1073: the client sends its size right after WILL NAWS.
    this.sentSize = undefined;
    return { reply: WILL, bytes: concat(willReply.bytes, this.windowSize()) };
  }

  private receiveDont(option: number): NegotiationResult {
    if (!this.local.delete(option)) return { reply: undefined, bytes: noBytes };
    return reply(WONT, option);
  }
}

function reply(command: NegotiationCommand, option: number): NegotiationResult {
  return { reply: command, bytes: encodeNegotiation(command, option) };
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(first.length + second.length);
  bytes.set(first);
  bytes.set(second, first.length);
  return bytes;
}
