import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Utf8StreamDecoder } from '../../../core/telnet/utf8';

/** Decodes `bytes` cut at `cuts` with one stream decoder, including the end of the stream. */
function decodeInPieces(bytes: Uint8Array, cuts: number[]): string {
  const decoder = new Utf8StreamDecoder();
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  let text = '';
  let start = 0;
  for (const point of [...points, bytes.length]) {
    text += decoder.decode(bytes.subarray(start, point));
    start = point;
  }
  return text + decoder.end();
}

const wholeDecode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('Utf8StreamDecoder', () => {
  test('every split of valid text', () => {
    const bytes = Buffer.from('aé€🔒z');
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      for (let second = cut; second <= bytes.length; second += 1) {
        assert.equal(decodeInPieces(bytes, [cut, second]), 'aé€🔒z', `cuts ${cut}, ${second}`);
      }
    }
  });

  test('one byte at a time', () => {
    const bytes = Buffer.from('NOTICE: ✓ µs 🔒');
    const cuts = Array.from({ length: bytes.length }, (_, index) => index);
    assert.equal(decodeInPieces(bytes, cuts), 'NOTICE: ✓ µs 🔒');
  });

  test('held bytes survive reuse of the input buffer', () => {
    // TelnetConsole reads every chunk into the same buffer.
    const shared = Buffer.alloc(4);
    const decoder = new Utf8StreamDecoder();
    let text = '';
    for (const byte of Buffer.from('é€🔒')) {
      shared[0] = byte;
      text += decoder.decode(shared.subarray(0, 1));
      shared.fill(0x41);
    }
    assert.equal(text, 'é€🔒');
  });

  test('incomplete character at the end is U+FFFD', () => {
    const decoder = new Utf8StreamDecoder();
    assert.equal(decoder.decode(Uint8Array.of(0x61, 0xf0, 0x9f)), 'a');
    assert.equal(decoder.end(), '\ufffd');
    assert.equal(decoder.end(), '');
  });

  test('invalid bytes as TextDecoder replaces them', () => {
    const cases = [
      [0xff],
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf0, 0x9f, 0x61],
      [0x80, 0x80, 0x80, 0x80],
      [0xe2, 0x82, 0xf0, 0x9f, 0x94, 0x92],
    ];
    for (const bytes of cases) {
      const array = Uint8Array.from(bytes);
      for (let cut = 0; cut <= array.length; cut += 1) {
        assert.equal(
          decodeInPieces(array, [cut]),
          wholeDecode(array),
          `${bytes.join(' ')} cut ${cut}`,
        );
      }
    }
  });

  test('matches one TextDecoder call for any bytes and cuts', () => {
    // Bytes from UTF-8 text mixed with arbitrary bytes, so both valid and broken sequences occur.
    const piece = fc.oneof(
      fc.string({ unit: 'binary' }).map((text) => [...Buffer.from(text)]),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 0x80, max: 0xbf }), { maxLength: 4 }),
    );
    const input = fc
      .array(piece, { maxLength: 12 })
      .map((pieces) => Uint8Array.from(pieces.flat()));
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        assert.equal(decodeInPieces(bytes, cuts), wholeDecode(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
