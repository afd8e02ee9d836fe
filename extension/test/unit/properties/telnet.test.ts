// Property tests of the telnet stream parser, the IAC escaping and the CR NUL filter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CrNulFilter,
  TelnetCommand as C,
  TelnetParser,
  encodeSubnegotiation,
  escapeIac,
  type TelnetEvent,
} from '../../../core/telnet/protocol';

/** Bytes with the telnet command codes much more often than chance would give them. */
const streamByte = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(C.IAC, C.SB, C.SE, C.WILL, C.WONT, C.DO, C.DONT) },
);

/** Events as plain values, with adjacent data events merged, so splits do not matter. */
function normalise(events: TelnetEvent[]): unknown[] {
  const result: unknown[] = [];
  for (const event of events) {
    const last = result.at(-1) as { kind: string; bytes: number[] } | undefined;
    if (event.kind === 'data' && last?.kind === 'data') {
      last.bytes.push(...event.bytes);
    } else if (event.kind === 'data' || event.kind === 'subnegotiation') {
      result.push({ ...event, bytes: [...event.bytes] });
    } else {
      result.push({ ...event });
    }
  }
  return result;
}

/** Splits bytes at the given cut points. */
function splitAt(bytes: number[], cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let previous = 0;
  for (const point of [...points, bytes.length]) {
    parts.push(Uint8Array.from(bytes.slice(previous, point)));
    previous = point;
  }
  return parts;
}

/** Parses chunks, copying each data event before the next push, as a caller must. */
function parseChunks(chunks: Uint8Array[]): TelnetEvent[] {
  const parser = new TelnetParser();
  return chunks.flatMap((chunk) =>
    parser
      .push(chunk)
      .map((event) => (event.kind === 'data' ? { ...event, bytes: event.bytes.slice() } : event)),
  );
}

describe('telnet stream properties', () => {
  test('events do not depend on chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(streamByte, { maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (bytes, cuts) => {
          const whole = normalise(parseChunks([Uint8Array.from(bytes)]));
          assert.deepEqual(normalise(parseChunks(splitAt(bytes, cuts))), whole);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('escaped data comes back as the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat()), (data, cuts) => {
        const escaped = [...escapeIac(data)];
        const events = parseChunks(splitAt(escaped, cuts));
        assert.ok(events.every((event) => event.kind === 'data'));
        assert.deepEqual(
          events.flatMap((event) => (event.kind === 'data' ? [...event.bytes] : [])),
          [...data],
        );
      }),
      { numRuns: 2000 },
    );
  });

  test('a subnegotiation between data reads back whole', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 50 }),
        fc.integer({ min: 0, max: 254 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 50 }),
        fc.array(fc.nat()),
        (before, option, payload, after, cuts) => {
          const stream = [
            ...escapeIac(before),
            ...encodeSubnegotiation(option, payload),
            ...escapeIac(after),
          ];
          const events = normalise(parseChunks(splitAt(stream, cuts)));
          const expected: unknown[] = [];
          if (before.length > 0) expected.push({ kind: 'data', bytes: [...before] });
          expected.push({ kind: 'subnegotiation', option, bytes: [...payload] });
          if (after.length > 0) expected.push({ kind: 'data', bytes: [...after] });
          assert.deepEqual(events, expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('CR NUL filter does not depend on chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(0, 0x0d, 0x0a, 0x41), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, cuts) => {
          const whole = [...new CrNulFilter().filter(Uint8Array.from(bytes))];
          const filter = new CrNulFilter();
          const parts = splitAt(bytes, cuts).flatMap((part) => [...filter.filter(part)]);
          assert.deepEqual(parts, whole);
          // Only a NUL right after a CR goes.
          const expected = bytes.filter((byte, i) => !(byte === 0 && bytes[i - 1] === 0x0d));
          assert.deepEqual(whole, expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
