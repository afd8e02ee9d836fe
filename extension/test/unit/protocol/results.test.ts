import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ResultsFileExistsError,
  ResultsWriter,
  listResultsFiles,
  readResultsFile,
  thumbnailPath,
} from '../../../core/results';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cca-results-test-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const result = {
  image: '/w/images/a b.bmp',
  top5: [{ index: 1, label: '1:goldfish', confidence: 0.5 }],
  ms: 12,
  error: null,
};

describe('results files', () => {
  test('round-trips through JSON Lines', async () => {
    const file = path.join(dir, 'one', '.cca', 'results', 'x.jsonl');
    const writer = await ResultsWriter.create(file);
    await writer.append(result);
    await writer.append({ image: '/w/c.png', top5: [], ms: null, error: 'timed out' });
    const run = await readResultsFile(file);
    assert.equal(run.invalidLines, 0);
    assert.deepEqual(run.results[0], result);
    assert.equal(run.results[1]?.error, 'timed out');
    assert.equal(run.results[1]?.ms, null);
  });

  test('skips torn and invalid lines', async () => {
    const file = path.join(dir, 'torn.jsonl');
    await writeFile(file, `${JSON.stringify(result)}\n{"image": 3}\nnot json\n{"image":"/x","top`);
    const run = await readResultsFile(file);
    assert.equal(run.results.length, 1);
    assert.equal(run.invalidLines, 3);
  });

  test('never overwrites an existing file', async () => {
    const file = path.join(dir, 'mine.jsonl');
    await writeFile(file, 'my notes\n');
    await assert.rejects(ResultsWriter.create(file), ResultsFileExistsError);
    assert.equal(await readFile(file, 'utf8'), 'my notes\n');
  });

  test('creates the file only with a result', async () => {
    const file = path.join(dir, 'empty-run.jsonl');
    const writer = await ResultsWriter.create(file);
    assert.equal(writer.hasResults, false);
    await assert.rejects(readFile(file), /ENOENT/);
  });

  test('lists runs newest first', async () => {
    const base = path.join(dir, 'workspace');
    const folder = path.join(base, '.cca', 'results');
    await mkdir(folder, { recursive: true });
    for (const name of [
      '2026-01-02T00-00-00-000Z-aa.jsonl',
      '2026-03-01T00-00-00-000Z-bb.jsonl',
      'notes.txt',
    ]) {
      await writeFile(path.join(folder, name), '');
    }
    const files = await listResultsFiles(base);
    assert.deepEqual(
      files.map((f) => path.basename(f)),
      ['2026-03-01T00-00-00-000Z-bb.jsonl', '2026-01-02T00-00-00-000Z-aa.jsonl'],
    );
    assert.deepEqual(await listResultsFiles(path.join(dir, 'nothing-here')), []);
  });

  test('thumbnails sit beside the results', () => {
    assert.equal(
      thumbnailPath('/w/.cca/results/run1.jsonl', 3),
      path.join('/w/.cca/thumbnails/run1/3.png'),
    );
  });
});
