// Bad image files: truncated at every length, headers that claim huge sizes, unsupported
// formats, and PNG or JPEG data that does not decode. Each gives an ImageDecodeError that names
// the file, before anything large is allocated, and a batch goes on past it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeBmp } from '../../../core/images/bmp';
import { decodeImage, prepareRealmInput } from '../../../core/images/decode';
import { ImageDecodeError } from '../../../core/images/types';
import { RealmClient } from '../../../core/protocol/client';
import { dataDir } from '../data';
import { FakeRealm, writeTinyBmp } from '../protocol/fake-realm';

/** Runs `decode` and returns the ImageDecodeError it must raise. */
function decodeError(decode: () => unknown): ImageDecodeError {
  try {
    decode();
  } catch (error) {
    assert.ok(error instanceof ImageDecodeError, `not an ImageDecodeError: ${String(error)}`);
    return error;
  }
  assert.fail('the image decoded');
}

/** Runs `decode` and checks the bytes of ArrayBuffers it left allocated stay small. */
function assertSmallAllocation(decode: () => unknown): void {
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  decodeError(decode);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  assert.ok(performance.now() - started < 500, 'rejected without decoding pixels');
}

/** Returns a 64x48 gradient as RGBA, for the PNG and JPEG encoders. */
function gradient(): { width: number; height: number; data: Buffer } {
  const width = 64;
  const height = 48;
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i += 1) {
    data.set([(i * 3) & 0xff, (i >> 4) & 0xff, 200, 255], i * 4);
  }
  return { width, height, data };
}

function samplePng(): Buffer {
  const { width, height, data } = gradient();
  const png = new PNG({ width, height });
  data.copy(png.data);
  return PNG.sync.write(png);
}

function sampleJpeg(): Buffer {
  return Buffer.from(encodeJpeg(gradient(), 90).data);
}

/** Cut points across a file: every byte of the headers and of the end, some in between. */
function cutPoints(length: number): number[] {
  const points = new Set<number>();
  for (let i = 0; i < Math.min(length, 200); i += 1) points.add(i);
  for (let i = 200; i < length; i += Math.max(1, Math.floor(length / 97))) points.add(i);
  for (let i = Math.max(0, length - 16); i < length; i += 1) points.add(i);
  return [...points].sort((a, b) => a - b);
}

describe('truncated images', () => {
  test('a BMP cut at any length is rejected with its name', async () => {
    const bytes = await readFile(path.join(dataDir(), 'images', 'image1.bmp'));
    // The last row's padding is never read, so the last 3 bytes may go.
    for (const length of cutPoints(bytes.length - 3)) {
      const cut = bytes.subarray(0, length);
      const error = decodeError(() => decodeBmp(cut, 'image1.bmp'));
      assert.ok(error.message.startsWith('image1.bmp: '), error.message);
      // The realm's path checks the same headers before anything is sent.
      decodeError(() => prepareRealmInput(cut, 'image1.bmp'));
    }
  });

  test('a PNG cut at any length is rejected with its name', () => {
    const bytes = samplePng();
    for (const length of cutPoints(bytes.length)) {
      const error = decodeError(() => decodeImage(bytes.subarray(0, length), 'cut.png'));
      assert.match(error.message, /^cut\.png: /);
    }
  });

  test('a JPEG cut at any length is rejected with its name', () => {
    const bytes = sampleJpeg();
    for (const length of cutPoints(bytes.length)) {
      const error = decodeError(() => decodeImage(bytes.subarray(0, length), 'cut.jpg'));
      assert.match(error.message, /^cut\.jpg: /);
    }
  });
});

describe('headers that claim huge sizes', () => {
  test('BMP of 10000x10000 at 32 bits in 60 bytes', () => {
    const bytes = Buffer.alloc(60);
    bytes.write('BM', 0, 'latin1');
    bytes.writeUInt32LE(54, 10);
    bytes.writeUInt32LE(40, 14);
    bytes.writeInt32LE(10_000, 18);
    bytes.writeInt32LE(10_000, 22);
    bytes.writeUInt16LE(1, 26);
    bytes.writeUInt16LE(32, 28);
    assertSmallAllocation(() => decodeBmp(bytes, 'claims-400mb.bmp'));
    assert.match(decodeError(() => decodeBmp(bytes, 'x.bmp')).message, /pixel data is truncated/);
  });

  test('PNG whose IHDR claims 60000x60000', () => {
    const bytes = samplePng();
    bytes.writeUInt32BE(60_000, 16);
    bytes.writeUInt32BE(60_000, 20);
    assertSmallAllocation(() => decodeImage(bytes, 'huge.png'));
  });

  test('JPEG whose frame header claims 65000x65000', () => {
    const bytes = sampleJpeg();
    const frame = bytes.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(frame > 0, 'baseline frame header found');
    bytes.writeUInt16BE(65_000, frame + 5);
    bytes.writeUInt16BE(65_000, frame + 7);
    assertSmallAllocation(() => decodeImage(bytes, 'huge.jpg'));
    assert.match(
      decodeError(() => decodeImage(bytes, 'huge.jpg')).message,
      /^huge\.jpg: invalid JPEG: /,
    );
  });
});

describe('damaged PNG and JPEG', () => {
  test('PNG with a damaged chunk checksum', () => {
    const bytes = samplePng();
    const data = bytes.indexOf(Buffer.from('IDAT'));
    bytes[data + 10] ^= 0xff;
    assert.match(
      decodeError(() => decodeImage(bytes, 'crc.png')).message,
      /^crc\.png: invalid PNG: /,
    );
  });

  test('PNG with an unknown critical chunk and no image data', () => {
    const bytes = samplePng();
    const data = bytes.indexOf(Buffer.from('IDAT'));
    bytes.write('XDAT', data, 'latin1');
    assert.match(
      decodeError(() => decodeImage(bytes, 'chunk.png')).message,
      /^chunk\.png: invalid PNG: /,
    );
  });

  test('JPEG whose scan data is noise', () => {
    const bytes = sampleJpeg();
    const scan = bytes.indexOf(Buffer.from([0xff, 0xda]));
    assert.ok(scan > 0, 'start of scan found');
    // The first bytes after the scan header tell the Huffman decoder nothing it can use.
    bytes.fill(0xff, scan + 20, bytes.length - 2);
    assert.match(decodeError(() => decodeImage(bytes, 'noise.jpg')).message, /^noise\.jpg: /);
  });
});

describe('bad images in a batch', () => {
  test('each bad file gets its own error and the batch goes on', async () => {
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-bad-images-'));
    const sharedDir = path.join(workDir, 'shared');
    await mkdir(sharedDir);
    const realm = new FakeRealm({
      signallingFile: path.join(sharedDir, 'signalling.txt'),
      outputFile: path.join(sharedDir, 'output.txt'),
      pollMs: 10,
      answer: () => [{ index: 1, label: '1:goldfish', confidence: 0.5 }],
    });
    try {
      const files: [string, Buffer][] = [
        ['cut.png', samplePng().subarray(0, 100)],
        ['cut.jpg', sampleJpeg().subarray(0, 300)],
        ['rle.bmp', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)])],
        ['text.jpg', Buffer.from('this is not a JPEG at all')],
      ];
      const images: string[] = [];
      for (const [name, bytes] of files) {
        const image = path.join(workDir, name);
        await writeFile(image, bytes);
        images.push(image);
      }
      const good = path.join(workDir, 'good.bmp');
      await writeTinyBmp(good);
      images.push(good);

      const results = await new RealmClient({ sharedDir, pollMs: 20 }).classify(images);
      for (const [i, [name]] of files.entries()) {
        assert.ok(results[i]?.error?.startsWith(`${images[i]}: `), `${name}: ${results[i]?.error}`);
      }
      assert.equal(results[4]?.error, null);
      assert.equal(realm.handled.length, 1, 'only the good image reached the realm');
    } finally {
      await realm.stop();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
