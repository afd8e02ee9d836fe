import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CrNulFilter,
  TelnetCommand as C,
  TelnetOption as O,
  TelnetParser,
  commandName,
  encodeNaws,
  encodeNegotiation,
  encodeSubnegotiation,
  escapeIac,
  optionName,
  type TelnetEvent,
} from '../../../core/telnet/protocol';

/** Events with data bytes copied to plain arrays, so deepEqual compares contents. */
type PlainEvent =
  | { kind: 'data'; bytes: number[] }
  | { kind: 'negotiation'; command: number; option: number }
  | { kind: 'subnegotiation'; option: number; bytes: number[] }
  | { kind: 'command'; command: number };

function plain(events: TelnetEvent[]): PlainEvent[] {
  return events.map((event) => {
    if (event.kind === 'data' || event.kind === 'subnegotiation') {
      return { ...event, bytes: [...event.bytes] };
    }
    return { ...event };
  });
}

/** Parses the chunks in order and merges adjacent data events, which may split anywhere. */
function parse(...chunks: number[][]): PlainEvent[] {
  const parser = new TelnetParser();
  const merged: PlainEvent[] = [];
  for (const chunk of chunks) {
    for (const event of plain(parser.push(Uint8Array.from(chunk)))) {
      const last = merged.at(-1);
      if (event.kind === 'data' && last?.kind === 'data') {
        last.bytes.push(...event.bytes);
      } else {
        merged.push(event);
      }
    }
  }
  return merged;
}

const bytesOf = (text: string): number[] => [...Buffer.from(text, 'latin1')];

describe('TelnetParser', () => {
  test('plain data passes through', () => {
    assert.deepEqual(parse(bytesOf('login: ')), [{ kind: 'data', bytes: bytesOf('login: ') }]);
  });

  test('QEMU greeting negotiations', () => {
    const greeting = [C.IAC, C.WILL, O.ECHO, C.IAC, C.WILL, O.SGA, C.IAC, C.WILL, O.BINARY];
    assert.deepEqual(parse([...greeting, C.IAC, C.DO, O.BINARY, 0x41]), [
      { kind: 'negotiation', command: C.WILL, option: O.ECHO },
      { kind: 'negotiation', command: C.WILL, option: O.SGA },
      { kind: 'negotiation', command: C.WILL, option: O.BINARY },
      { kind: 'negotiation', command: C.DO, option: O.BINARY },
      { kind: 'data', bytes: [0x41] },
    ]);
  });

  test('IAC IAC is one 0xFF data byte', () => {
    assert.deepEqual(parse([0x61, C.IAC, C.IAC, 0x62, C.IAC, C.IAC]), [
      { kind: 'data', bytes: [0x61, 0xff, 0x62, 0xff] },
    ]);
  });

  test('IAC IAC split across chunks', () => {
    assert.deepEqual(parse([0x61, C.IAC], [C.IAC, 0x62]), [
      { kind: 'data', bytes: [0x61, 0xff, 0x62] },
    ]);
  });

  test('negotiation split at every byte', () => {
    const stream = [0x61, C.IAC, C.DO, O.NAWS, 0x62];
    const expected = [
      { kind: 'data', bytes: [0x61] },
      { kind: 'negotiation', command: C.DO, option: O.NAWS },
      { kind: 'data', bytes: [0x62] },
    ];
    assert.deepEqual(parse(...stream.map((byte) => [byte])), expected);
    for (let cut = 1; cut < stream.length; cut += 1) {
      assert.deepEqual(parse(stream.slice(0, cut), stream.slice(cut)), expected, `cut at ${cut}`);
    }
  });

  test('subnegotiation with IAC IAC inside', () => {
    const stream = [C.IAC, C.SB, O.NAWS, 0, C.IAC, C.IAC, 0, 24, C.IAC, C.SE, 0x7a];
    assert.deepEqual(parse(stream), [
      { kind: 'subnegotiation', option: O.NAWS, bytes: [0, 0xff, 0, 24] },
      { kind: 'data', bytes: [0x7a] },
    ]);
    for (let cut = 1; cut < stream.length; cut += 1) {
      assert.deepEqual(parse(stream.slice(0, cut), stream.slice(cut)), parse(stream), `cut ${cut}`);
    }
  });

  test('TTYPE SEND subnegotiation', () => {
    assert.deepEqual(parse([C.IAC, C.SB, O.TTYPE, 1, C.IAC, C.SE]), [
      { kind: 'subnegotiation', option: O.TTYPE, bytes: [1] },
    ]);
  });

  test('subnegotiation ended by another command', () => {
    // A server that omits IAC SE: the next IAC command closes the subnegotiation.
    assert.deepEqual(parse([C.IAC, C.SB, O.TTYPE, 1, C.IAC, C.WILL, O.ECHO, 0x61]), [
      { kind: 'subnegotiation', option: O.TTYPE, bytes: [1] },
      { kind: 'negotiation', command: C.WILL, option: O.ECHO },
      { kind: 'data', bytes: [0x61] },
    ]);
  });

  test('oversized subnegotiation is dropped', () => {
    const long = new Array<number>(70_000).fill(0x41);
    assert.deepEqual(parse([C.IAC, C.SB, O.TTYPE, ...long, C.IAC, C.SE, 0x62]), [
      { kind: 'data', bytes: [0x62] },
    ]);
  });

  test('NOP, GA, AYT and unknown commands', () => {
    assert.deepEqual(parse([C.IAC, C.NOP, 0x61, C.IAC, C.GA, C.IAC, C.AYT, C.IAC, 0x10]), [
      { kind: 'command', command: C.NOP },
      { kind: 'data', bytes: [0x61] },
      { kind: 'command', command: C.GA },
      { kind: 'command', command: C.AYT },
      { kind: 'command', command: 0x10 },
    ]);
  });

  test('stray SE is a command', () => {
    assert.deepEqual(parse([C.IAC, C.SE]), [{ kind: 'command', command: C.SE }]);
  });

  test('DM between data bytes', () => {
    assert.deepEqual(parse([0x61, C.IAC, C.DM, 0x62]), [
      { kind: 'data', bytes: [0x61] },
      { kind: 'command', command: C.DM },
      { kind: 'data', bytes: [0x62] },
    ]);
  });

  test('chunk ending inside a sequence emits nothing yet', () => {
    const parser = new TelnetParser();
    assert.deepEqual(parser.push(Uint8Array.of(C.IAC)), []);
    assert.deepEqual(parser.push(Uint8Array.of(C.WILL)), []);
    assert.deepEqual(plain(parser.push(Uint8Array.of(O.SGA))), [
      { kind: 'negotiation', command: C.WILL, option: O.SGA },
    ]);
  });

  test('data events are views, not copies', () => {
    const chunk = Uint8Array.from(bytesOf('boot log'));
    const [event] = new TelnetParser().push(chunk);
    assert.equal(event.kind, 'data');
    if (event.kind === 'data') assert.equal(event.bytes.buffer, chunk.buffer);
  });
});

describe('escapeIac', () => {
  test('doubles 0xFF', () => {
    assert.deepEqual(
      [...escapeIac(Uint8Array.of(1, 0xff, 2, 0xff))],
      [1, 0xff, 0xff, 2, 0xff, 0xff],
    );
  });

  test('returns the same array without 0xFF', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    assert.equal(escapeIac(bytes), bytes);
  });

  test('round trip through the parser', () => {
    const bytes = Uint8Array.from({ length: 512 }, (_, index) => index % 256);
    assert.deepEqual(parse([...escapeIac(bytes)]), [{ kind: 'data', bytes: [...bytes] }]);
  });
});

describe('encoders', () => {
  test('negotiation', () => {
    assert.deepEqual([...encodeNegotiation(C.WONT, O.LINEMODE)], [C.IAC, C.WONT, O.LINEMODE]);
  });

  test('subnegotiation escapes payload', () => {
    assert.deepEqual(
      [...encodeSubnegotiation(O.TTYPE, Uint8Array.of(0, 0xff))],
      [C.IAC, C.SB, O.TTYPE, 0, 0xff, 0xff, C.IAC, C.SE],
    );
  });

  test('NAWS 80x24', () => {
    assert.deepEqual([...encodeNaws(80, 24)], [C.IAC, C.SB, O.NAWS, 0, 80, 0, 24, C.IAC, C.SE]);
  });

  test('NAWS escapes a 255 byte', () => {
    assert.deepEqual(
      [...encodeNaws(255, 511)],
      [C.IAC, C.SB, O.NAWS, 0, 0xff, 0xff, 1, 0xff, 0xff, C.IAC, C.SE],
    );
  });

  test('NAWS clamps and truncates', () => {
    // 65535 is 0xFF 0xFF, and each 0xFF is doubled.
    assert.deepEqual([...encodeNaws(70_000, -3.5)].slice(3, 9), [0xff, 0xff, 0xff, 0xff, 0, 0]);
    assert.deepEqual([...encodeNaws(100.9, 30.2)].slice(3, 7), [0, 100, 0, 30]);
  });

  test('NAWS rejects NaN', () => {
    assert.throws(() => encodeNaws(Number.NaN, 24), /invalid window size NaNx24/);
  });
});

describe('CrNulFilter', () => {
  const filter = (chunks: number[][]): number[] => {
    const crNul = new CrNulFilter();
    return chunks.flatMap((chunk) => [...crNul.filter(Uint8Array.from(chunk))]);
  };

  test('CR NUL becomes CR', () => {
    assert.deepEqual(filter([[0x61, 0x0d, 0x00, 0x62]]), [0x61, 0x0d, 0x62]);
  });

  test('CR LF stays CR LF', () => {
    assert.deepEqual(filter([[0x61, 0x0d, 0x0a, 0x62]]), [0x61, 0x0d, 0x0a, 0x62]);
  });

  test('CR NUL split across chunks', () => {
    assert.deepEqual(
      filter([
        [0x61, 0x0d],
        [0x00, 0x62],
      ]),
      [0x61, 0x0d, 0x62],
    );
  });

  test('lone CR NUL', () => {
    assert.deepEqual(filter([[0x0d], [0x00]]), [0x0d]);
  });

  test('NUL not after CR is kept', () => {
    assert.deepEqual(filter([[0x00, 0x61, 0x00], [0x00]]), [0x00, 0x61, 0x00, 0x00]);
  });

  test('CR NUL NUL keeps the second NUL', () => {
    assert.deepEqual(filter([[0x0d, 0x00, 0x00]]), [0x0d, 0x00]);
  });

  test('returns the same array when nothing is removed', () => {
    const bytes = Uint8Array.of(0x61, 0x0d, 0x0a);
    assert.equal(new CrNulFilter().filter(bytes), bytes);
  });
});

describe('names', () => {
  test('commands and options by RFC name', () => {
    assert.equal(commandName(C.WILL), 'WILL');
    assert.equal(commandName(7), 'command 7');
    assert.equal(optionName(O.NAWS), 'NAWS');
    assert.equal(optionName(O.NEW_ENVIRON), 'NEW-ENVIRON');
    assert.equal(optionName(200), 'option 200');
  });
});
