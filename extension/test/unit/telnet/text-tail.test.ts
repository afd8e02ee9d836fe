import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextTail } from '../../../core/telnet/text-tail';

describe('TextTail', () => {
  test('keeps everything below the limit', () => {
    const tail = new TextTail(100);
    tail.append('NOTICE:  Booting Trusted Firmware\r\n');
    tail.append('');
    tail.append('NOTICE:  BL1: Booting BL2\r\n');
    assert.equal(tail.text(), 'NOTICE:  Booting Trusted Firmware\r\nNOTICE:  BL1: Booting BL2\r\n');
  });

  test('empty until the first append', () => {
    assert.equal(new TextTail(10).text(), '');
  });

  test('keeps the last limit characters', () => {
    const tail = new TextTail(10);
    tail.append('0123456789');
    tail.append('abcdef');
    assert.equal(tail.text(), '6789abcdef');
    tail.append('X');
    assert.equal(tail.text(), '789abcdefX');
  });

  test('matches slicing for many append sizes', () => {
    const limit = 5000;
    const tail = new TextTail(limit);
    let whole = '';
    for (let size = 1, seed = 0; whole.length < 60_000; size = ((size * 7919) % 3001) + 1) {
      const text = String.fromCharCode(
        ...Array.from({ length: size }, (_, i) => 97 + ((i + seed) % 26)),
      );
      seed += 1;
      tail.append(text);
      whole += text;
      if (seed % 17 === 0) assert.equal(tail.text(), whole.slice(-limit), `after ${seed} appends`);
    }
    assert.equal(tail.text(), whole.slice(-limit));
  });

  test('one append longer than the limit', () => {
    const tail = new TextTail(4);
    tail.append('abcdefghij');
    assert.equal(tail.text(), 'ghij');
  });

  test('rejects an invalid limit', () => {
    assert.throws(() => new TextTail(0), /invalid limit 0/);
    assert.throws(() => new TextTail(1.5), /invalid limit 1.5/);
  });
});
