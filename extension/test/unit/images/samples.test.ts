// Decodes the real sample images of the shared test data folder. CCA_DATA_DIR names that
// folder. Without it, the tests use ../shared/data beside the repository. A missing folder
// fails every test here instead of skipping them, so that CI cannot pass without the data.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeBmp, readBmpInfo } from '../../../core/images/bmp';
import { decodeImage, prepareRealmInput } from '../../../core/images/decode';

// Compiled to out/test/unit/images, four levels below the repository root.
const repositoryRoot = path.resolve(__dirname, '..', '..', '..', '..');
const dataDir = process.env.CCA_DATA_DIR ?? path.resolve(repositoryRoot, '..', 'shared', 'data');

function readSample(fileName: string): Buffer {
  const imagesDir = path.join(dataDir, 'images');
  if (!existsSync(imagesDir)) {
    assert.fail(
      `test images not found: ${imagesDir} does not exist. ` +
        'Set CCA_DATA_DIR to the shared test data folder (the one that contains images/).',
    );
  }
  return readFileSync(path.join(imagesDir, fileName));
}

const GUARANTEE_IMAGES = ['image.bmp', ...Array.from({ length: 9 }, (_, i) => `image${i + 1}.bmp`)];

describe('sample images', () => {
  for (const fileName of GUARANTEE_IMAGES) {
    test(`${fileName} is 224x224 and passes through`, () => {
      const file = readSample(fileName);

      const image = decodeImage(file, fileName);
      const input = prepareRealmInput(file, fileName);

      assert.equal(image.width, 224);
      assert.equal(image.height, 224);
      assert.equal(image.data.length, 224 * 224 * 3);
      assert.equal(input.converted, false);
      assert.equal(input.bytes, file);
    });
  }

  for (const [fileName, width, height, headerSize] of [
    ['grace_hopper.bmp', 512, 600, 124],
    ['cat.bmp', 512, 341, 124],
    ['resized_cat.bmp', 224, 224, 124],
  ] as const) {
    test(`${fileName} is ${width}x${height}`, () => {
      const file = readSample(fileName);

      const info = readBmpInfo(file, fileName);
      const image = decodeBmp(file, fileName);

      assert.equal(info.headerSize, headerSize);
      assert.equal(info.bitsPerPixel, 24);
      assert.equal(image.width, width);
      assert.equal(image.height, height);
      assert.equal(prepareRealmInput(file, fileName).converted, false);
    });
  }

  test('image.bmp pixels match raw bytes', () => {
    const file = readSample('image.bmp');

    // Header fields read by hand: bfOffBits, biSize, biWidth, biHeight, biBitCount.
    const pixelOffset = file.readUInt32LE(10);
    assert.equal(pixelOffset, 122);
    assert.equal(file.readUInt32LE(14), 108);
    assert.equal(file.readInt32LE(18), 224);
    assert.equal(file.readInt32LE(22), 224, 'positive height: bottom-up rows');
    assert.equal(file.readUInt16LE(28), 24);
    const rowStride = 224 * 3;

    const image = decodeBmp(file, 'image.bmp');

    const positions: [number, number][] = [
      [0, 0],
      [223, 0],
      [0, 223],
      [223, 223],
      [100, 57],
      [17, 190],
    ];
    for (const [x, y] of positions) {
      const stored: number = pixelOffset + (223 - y) * rowStride + x * 3;
      const expected: number[] = [file[stored + 2], file[stored + 1], file[stored]];
      const decoded = (y * 224 + x) * 3;
      const actual = Array.from(image.data.subarray(decoded, decoded + 3));
      assert.deepEqual(actual, expected, `pixel (${x}, ${y})`);
    }
  });
});
