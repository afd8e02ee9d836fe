import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { encodeBmp24 } from '../../../core/images/bmp';
import { makeThumbnailPng } from '../../../core/images/thumbnail';
import { dataDir } from '../data';

describe('makeThumbnailPng', () => {
  test('fits a sample image into 128 px', async () => {
    const bytes = await readFile(path.join(dataDir(), 'images', 'grace_hopper.bmp'));
    const png = PNG.sync.read(makeThumbnailPng(bytes, 'grace_hopper.bmp'));
    assert.equal(Math.max(png.width, png.height), 128);
    assert.ok(png.width > 0);
    assert.ok(png.height > 0);
  });

  test('averages pixels when shrinking', () => {
    // 4x2: left half black, right half white; at 2x1 each output pixel averages one half.
    const data = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) data.fill(255, (y * 4 + 2) * 3, (y * 4 + 4) * 3);
    const bmp = encodeBmp24({ width: 4, height: 2, data });
    const png = PNG.sync.read(makeThumbnailPng(bmp, 'halves.bmp', 2));
    assert.equal(png.width, 2);
    assert.equal(png.height, 1);
    assert.equal(png.data[0], 0);
    assert.equal(png.data[4], 255);
  });

  test('keeps small images at their size', () => {
    const bmp = encodeBmp24({ width: 3, height: 2, data: new Uint8Array(18).fill(7) });
    const png = PNG.sync.read(makeThumbnailPng(bmp, 'small.bmp'));
    assert.equal(png.width, 3);
    assert.equal(png.height, 2);
    assert.equal(png.data[0], 7);
  });

  test('rejects a corrupt image', () => {
    assert.throws(() => makeThumbnailPng(Buffer.from('BM garbage'), 'bad.bmp'), /bad\.bmp/);
  });
});
