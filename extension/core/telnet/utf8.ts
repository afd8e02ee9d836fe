/**
 * Decodes UTF-8 that arrives in chunks, keeping a character split across two chunks whole and
 * turning invalid bytes into U+FFFD. The text equals what one TextDecoder call would return
 * for all the bytes together.
 *
 * TextDecoder's own `{ stream: true }` mode does the same, but in Node.js 20.20 it decoded
 * 64 KiB chunks about four times slower than a call without it, and halved the console's
 * throughput in bench/console-throughput.mjs. So this class holds back an incomplete sequence
 * at the end of a chunk itself and decodes the rest without streaming. Holding back from the
 * last lead byte is safe, because a lead byte never continues an earlier sequence, so the
 * decoder starts afresh there in either case.
 */
export class Utf8StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8');
  private carry: Uint8Array | undefined;

  /** Returns the text of the complete characters received so far. */
  decode(bytes: Uint8Array): string {
    let input = bytes;
    if (this.carry) {
      input = new Uint8Array(this.carry.length + bytes.length);
      input.set(this.carry);
      input.set(bytes, this.carry.length);
      this.carry = undefined;
    }

    const held = incompleteTailLength(input);
    if (held > 0) {
      // A copy, because `bytes` may be a Buffer (whose slice() is a view) over a reused buffer.
      this.carry = Uint8Array.from(input.subarray(input.length - held));
      input = input.subarray(0, input.length - held);
    }
    return input.length > 0 ? this.decoder.decode(input) : '';
  }

  /** Returns U+FFFD for a character left incomplete at the end of the stream, else ''. */
  end(): string {
    const carry = this.carry;
    this.carry = undefined;
    return carry ? this.decoder.decode(carry) : '';
  }
}

/** Returns the length of the UTF-8 sequence that a lead byte starts, or 1 for any other byte. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

/** Returns how many bytes at the end start a sequence that the next chunk may complete. */
function incompleteTailLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back];
    const isContinuation = (byte & 0xc0) === 0x80;
    if (!isContinuation) return sequenceLength(byte) > back ? back : 0;
  }
  return 0;
}
