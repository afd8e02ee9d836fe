import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  formatSignalling,
  parseSignalling,
  readSignalling,
  writeSignalling,
} from '../../../core/protocol/signalling';

describe('parseSignalling', () => {
  test('reads state and file name', () => {
    const parsed = parseSignalling('systemState: query\nfileName: /root/shared_with_realm/a.bmp\n');
    assert.equal(parsed.state, 'query');
    assert.equal(parsed.fileName, '/root/shared_with_realm/a.bmp');
  });

  test('accepts CRLF line ends', () => {
    const parsed = parseSignalling('systemState: processed\r\nfileName: /x.bmp\r\n');
    assert.equal(parsed.state, 'processed');
    assert.equal(parsed.fileName, '/x.bmp');
  });

  test('empty text has no state', () => {
    const parsed = parseSignalling('');
    assert.equal(parsed.state, undefined);
    assert.equal(parsed.rawState, undefined);
  });

  test('torn state line is not a known state', () => {
    const parsed = parseSignalling('systemState: quer');
    assert.equal(parsed.state, undefined);
    assert.equal(parsed.rawState, 'quer');
  });

  test('a state line without a file name', () => {
    const parsed = parseSignalling('systemState: query\n');
    assert.equal(parsed.state, 'query');
    assert.equal(parsed.fileName, undefined);
  });

  test('empty file name line', () => {
    assert.equal(parseSignalling('systemState: processed\nfileName: \n').fileName, '');
  });

  test('ignores garbage and unknown keys', () => {
    const parsed = parseSignalling('\u0000\u00ff junk\nfoo: bar\nsystemState: finished.....\n');
    assert.equal(parsed.state, undefined);
    assert.equal(parsed.rawState, 'finished.....');
  });

  test('unknown state keeps its text', () => {
    assert.equal(parseSignalling('systemState: busy').rawState, 'busy');
    assert.equal(parseSignalling('systemState: busy').state, undefined);
  });

  test('first line of a key wins', () => {
    const parsed = parseSignalling('systemState: processed\nsystemState: query\n');
    assert.equal(parsed.state, 'processed');
  });

  test('keeps spaces inside a file name', () => {
    const parsed = parseSignalling('systemState: query\nfileName: /s/my photo: 1.bmp\n');
    assert.equal(parsed.fileName, '/s/my photo: 1.bmp');
  });
});

describe('formatSignalling', () => {
  test('writes one key and value per line', () => {
    assert.equal(formatSignalling('query', '/a.bmp'), 'systemState: query\nfileName: /a.bmp\n');
    assert.equal(formatSignalling('processed'), 'systemState: processed\n');
  });

  test('round-trips through the parser', () => {
    const parsed = parseSignalling(formatSignalling('finished', ''));
    assert.equal(parsed.state, 'finished');
    assert.equal(parsed.fileName, '');
  });
});

describe('signalling file', () => {
  test('writes atomically and leaves no temporary file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cca-signalling-'));
    try {
      const file = path.join(dir, 'signalling.txt');
      assert.equal(await readSignalling(file), undefined);
      await writeSignalling(file, 'query', '/r/a.bmp');
      await writeSignalling(file, 'processed', '');
      assert.equal(await readFile(file, 'utf8'), 'systemState: processed\nfileName: \n');
      assert.deepEqual(await readdir(dir), ['signalling.txt']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('rejects a file name with a line break', async () => {
    await assert.rejects(writeSignalling('/nonexistent/x', 'query', 'a\nb'), /line break/);
  });
});
