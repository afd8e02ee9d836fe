// The protocol state of one telnet connection: parsing what the server sends, replying to its
// negotiation, and encoding what the user types. It does no I/O, so a new connection gets a
// new session and nothing carries over from the last one.

import { TelnetOption, type NegotiationCommand } from './codes';
import { escapeIac } from './encode';
import { OptionNegotiator, type NegotiationResult } from './negotiator';
import { CrNulFilter, TelnetParser } from './protocol';
import { Utf8StreamDecoder } from './utf8';

export interface SessionHandlers {
  /** Data bytes from the server, after telnet decoding: what the terminal is meant to show. */
  onBytes(bytes: Uint8Array): void;
  /** The same data decoded as UTF-8; never called with an empty string. */
  onText(text: string): void;
  /** A negotiation request from the server and the client's reply, for the debug log. */
  onNegotiation(command: NegotiationCommand, option: number, result: NegotiationResult): void;
}

export interface SessionOptions {
  terminalType?: string;
  columns?: number;
  rows?: number;
}

const carriageReturn = 0x0d;
const lineFeed = 0x0a;
const noBytes = new Uint8Array(0);

/** The protocol state of one connection; see the file comment. */
export class TelnetSession {
  private readonly parser = new TelnetParser();
  private readonly negotiator: OptionNegotiator;
  private readonly crNul = new CrNulFilter();
  private readonly decoder = new Utf8StreamDecoder();
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly handlers: SessionHandlers,
    options: SessionOptions = {},
  ) {
    this.negotiator = new OptionNegotiator(options);
  }

  /** Whether the server agreed that the client sends in BINARY mode. */
  get sendsBinary(): boolean {
    return this.negotiator.isLocalEnabled(TelnetOption.BINARY);
  }

  /** Whether the server sends in BINARY mode. */
  get receivesBinary(): boolean {
    return this.negotiator.isRemoteEnabled(TelnetOption.BINARY);
  }

  /** Whether NAWS is agreed, so window sizes reach the server. */
  get sendsWindowSize(): boolean {
    return this.negotiator.isLocalEnabled(TelnetOption.NAWS);
  }

  /** Reads one chunk from the server; returns the bytes to send back (possibly none). */
  receive(chunk: Uint8Array): Uint8Array {
    const replies: Uint8Array[] = [];
    // The text of a chunk goes out in one piece, because a stream full of telnet commands splits
    // it into thousands of data events and each piece would cost the listeners a call.
    const texts: string[] = [];
    for (const event of this.parser.push(chunk)) {
      switch (event.kind) {
        case 'data':
          this.receiveData(event.bytes, texts);
          break;
        case 'negotiation': {
          const result = this.negotiator.receive(event.command, event.option);
          if (event.option === TelnetOption.BINARY) this.crNul.reset();
          this.handlers.onNegotiation(event.command, event.option, result);
          if (result.bytes.length > 0) replies.push(result.bytes);
          break;
        }
        case 'subnegotiation': {
          const reply = this.negotiator.receiveSubnegotiation(event.option, event.bytes);
          if (reply.length > 0) replies.push(reply);
          break;
        }
        case 'command':
          // NOP, GA, AYT and the rest need no reply from a client.
          // NOTE: DM (the Synch signal, RFC 854) is ignored, because Node's sockets do not
          // expose TCP urgent data. Output that a server means to flush that way is shown.
          break;
      }
    }
    if (texts.length > 0) this.handlers.onText(texts.join(''));
    return concat(replies);
  }

  /** Returns the text that an incomplete UTF-8 sequence at the end of the stream stands for. */
  end(): string {
    return this.decoder.end();
  }

  /**
   * Encodes typed text: UTF-8, with 0xFF doubled, and outside BINARY mode a CR that is not
   * followed by LF sent as CR NUL (RFC 854).
   * NOTE: outside BINARY mode, non-ASCII text is still sent as 8-bit UTF-8, which RFC 854's
   * 7-bit NVT does not define. The servers tested here pass it through.
   */
  encodeInput(text: string): Uint8Array {
    const bytes = escapeIac(this.encoder.encode(text));
    if (this.sendsBinary || !bytes.includes(carriageReturn)) return bytes;

    const encoded: number[] = [];
    for (let index = 0; index < bytes.length; index += 1) {
      encoded.push(bytes[index]);
      if (bytes[index] === carriageReturn && bytes[index + 1] !== lineFeed) encoded.push(0);
    }
    return Uint8Array.from(encoded);
  }

  /** Returns the NAWS subnegotiation for a new window size, or no bytes without NAWS. */
  resize(columns: number, rows: number): Uint8Array {
    return this.negotiator.resize(columns, rows);
  }

  private receiveData(bytes: Uint8Array, texts: string[]): void {
    const data = this.receivesBinary ? bytes : this.crNul.filter(bytes);
    if (data.length === 0) return;
    this.handlers.onBytes(data);
    const text = this.decoder.decode(data);
    if (text.length > 0) texts.push(text);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 0) return noBytes;
  if (parts.length === 1) return parts[0];
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
