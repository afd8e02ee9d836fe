import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Logger } from '../../../core/log';
import { RotatingLog } from '../../../core/telnet/rotating-log';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cca-rotating-log-'));
  file = path.join(dir, 'terminal_0.log');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Reads the oldest rotated file first and the current file last. */
function readAll(keep: number): Buffer {
  const parts: Buffer[] = [];
  for (let index = keep; index >= 1; index -= 1) {
    const older = `${file}.${index}`;
    if (existsSync(older)) parts.push(readFileSync(older));
  }
  if (existsSync(file)) parts.push(readFileSync(file));
  return Buffer.concat(parts);
}

function pattern(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 7 + seed) % 256);
}

describe('RotatingLog', () => {
  test('appends without rotating below the limit', async () => {
    const log = new RotatingLog(file, 1000, 2);
    log.append(Buffer.from('NOTICE:  Booting Trusted Firmware\n'));
    log.append(Buffer.from('NOTICE:  BL1: Booting BL2\n'));
    await log.close();
    assert.equal(
      readFileSync(file, 'utf8'),
      'NOTICE:  Booting Trusted Firmware\nNOTICE:  BL1: Booting BL2\n',
    );
    assert.deepEqual(readdirSync(dir), ['terminal_0.log']);
  });

  test('rotated files hold exactly maxBytes', async () => {
    const log = new RotatingLog(file, 100, 5);
    const bytes = pattern(350);
    log.append(bytes.subarray(0, 130));
    log.append(bytes.subarray(130));
    await log.close();
    assert.equal(statSync(`${file}.3`).size, 100);
    assert.equal(statSync(`${file}.2`).size, 100);
    assert.equal(statSync(`${file}.1`).size, 100);
    assert.equal(statSync(file).size, 50);
    assert.deepEqual(readAll(5), Buffer.from(bytes));
  });

  test('keeps only the newest rotated files', async () => {
    const log = new RotatingLog(file, 10, 2);
    const bytes = pattern(95);
    for (let offset = 0; offset < bytes.length; offset += 3) {
      log.append(bytes.subarray(offset, offset + 3));
    }
    await log.close();
    assert.deepEqual(readdirSync(dir).sort(), [
      'terminal_0.log',
      'terminal_0.log.1',
      'terminal_0.log.2',
    ]);
    // 95 bytes: the current file contains the last 5, the two rotated ones the 20 before.
    assert.deepEqual(readAll(2), Buffer.from(bytes.subarray(70)));
  });

  test('no byte lost over many chunk sizes', async () => {
    const log = new RotatingLog(file, 4096, 1000);
    const chunks: Uint8Array[] = [];
    for (let size = 1; size < 600; size += 7) chunks.push(pattern(size, size));
    for (const chunk of chunks) log.append(chunk);
    await log.close();
    assert.deepEqual(readAll(1000), Buffer.concat(chunks));
  });

  test('keep 0 truncates the file', async () => {
    const log = new RotatingLog(file, 10, 0);
    log.append(pattern(25));
    await log.close();
    assert.deepEqual(readdirSync(dir), ['terminal_0.log']);
    assert.deepEqual(readFileSync(file), Buffer.from(pattern(25).subarray(20)));
  });

  test('continues an existing file', async () => {
    writeFileSync(file, 'earlier run\n');
    const log = new RotatingLog(file, 20, 1);
    log.append(Buffer.from('0123456789'));
    await log.close();
    assert.equal(readFileSync(`${file}.1`, 'utf8'), 'earlier run\n01234567');
    assert.equal(readFileSync(file, 'utf8'), '89');
  });

  test('append after close reopens', async () => {
    const log = new RotatingLog(file, 100, 1);
    log.append(Buffer.from('a'));
    await log.close();
    log.append(Buffer.from('b'));
    await log.close();
    assert.equal(readFileSync(file, 'utf8'), 'ab');
  });

  test('creates the folder', async () => {
    const nested = path.join(dir, 'logs', 'aemfvp-a-rme', 'uart0.log');
    const log = new RotatingLog(nested, 100, 1);
    log.append(Buffer.from('x'));
    await log.close();
    assert.equal(readFileSync(nested, 'utf8'), 'x');
  });

  test('write failure is logged once, not thrown', () => {
    // A folder in place of the file makes every open fail, also for root.
    mkdirSync(file);
    const errors: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (message) => errors.push(message),
    };
    const log = new RotatingLog(file, 100, 1, logger);
    log.append(Buffer.from('abc'));
    log.append(Buffer.from('def'));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /write failed, 3 bytes lost/);
  });

  test('rejects invalid limits', () => {
    assert.throws(() => new RotatingLog(file, 0, 1), /invalid maxBytes 0/);
    assert.throws(() => new RotatingLog(file, 10, -1), /invalid keep -1/);
  });
});
