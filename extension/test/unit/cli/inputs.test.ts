import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError, resolveInputs } from '../../../cli/inputs';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cca-inputs-test-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function touch(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // A .tflite file needs the flatbuffer identifier that resolveInputs checks.
  await writeFile(file, file.endsWith('.tflite') ? '\0\0\0\0TFL3' : '');
}

describe('resolveInputs', () => {
  test('rejects a named file that is not an image', async () => {
    const repo = path.join(root, 'named');
    await touch(path.join(repo, 'realm', 'mobilenet_v1_1.0_224.tflite'));
    await touch(path.join(repo, 'realm', 'labels.txt'));
    const notes = path.join(repo, 'notes.txt');
    await touch(notes);
    assert.throws(
      () => resolveInputs({ images: [notes] }, {}, repo),
      (error: unknown) =>
        error instanceof InputError && /notes\.txt is not an image file/.test(error.message),
    );
  });

  test('uses the repository folders without CCA_DATA_DIR', async () => {
    const repo = path.join(root, 'repo');
    await touch(path.join(repo, 'realm', 'mobilenet_v1_1.0_224.tflite'));
    await touch(path.join(repo, 'realm', 'labels.txt'));
    await touch(path.join(repo, 'normal_world', 'input_data', 'b.bmp'));
    await touch(path.join(repo, 'normal_world', 'input_data', 'a.PNG'));
    await touch(path.join(repo, 'normal_world', 'input_data', 'notes.txt'));
    const inputs = resolveInputs({ images: [] }, {}, repo);
    assert.equal(inputs.modelSource, 'repository');
    assert.equal(inputs.imagesSource, 'repository');
    assert.equal(inputs.model, path.join(repo, 'realm', 'mobilenet_v1_1.0_224.tflite'));
    assert.deepEqual(
      inputs.images.map((i) => path.basename(i)),
      ['a.PNG', 'b.bmp'],
    );
  });

  test('CCA_DATA_DIR gives the defaults', async () => {
    const data = path.join(root, 'data');
    await touch(path.join(data, 'models', 'mobilenet_v1_0.75_192_quant.tflite'));
    await touch(path.join(data, 'labels', 'labels.txt'));
    await touch(path.join(data, 'images', 'image10.bmp'));
    await touch(path.join(data, 'images', 'image2.bmp'));
    const inputs = resolveInputs({ images: [] }, { CCA_DATA_DIR: data }, root);
    assert.equal(inputs.modelSource, 'CCA_DATA_DIR');
    assert.equal(inputs.imagesSource, 'CCA_DATA_DIR');
    assert.equal(inputs.labels, path.join(data, 'labels', 'labels.txt'));
    assert.deepEqual(
      inputs.images.map((i) => path.basename(i)),
      ['image2.bmp', 'image10.bmp'],
    );
  });

  test('flags win over CCA_DATA_DIR', async () => {
    const data = path.join(root, 'data');
    const model = path.join(root, 'other.tflite');
    const image = path.join(root, 'one.jpg');
    await touch(model);
    await touch(image);
    const inputs = resolveInputs({ model, images: [image] }, { CCA_DATA_DIR: data }, root);
    assert.equal(inputs.model, model);
    assert.equal(inputs.modelSource, 'arguments');
    assert.equal(inputs.imagesSource, 'arguments');
    assert.equal(inputs.labels, path.join(data, 'labels', 'labels.txt'));
    assert.deepEqual(inputs.images, [image]);
  });

  test('missing model names the file and its source', () => {
    const repo = path.join(root, 'empty-repo');
    assert.throws(
      () => resolveInputs({ images: [] }, {}, repo),
      (error: unknown) =>
        error instanceof InputError &&
        error.message.includes(path.join(repo, 'realm', 'mobilenet_v1_1.0_224.tflite')) &&
        error.message.includes('GuaranTEE'),
    );
  });

  test('image arguments with the data folder model', async () => {
    const data = path.join(root, 'data');
    const image = path.join(root, 'two.png');
    await touch(image);
    const inputs = resolveInputs({ images: [image] }, { CCA_DATA_DIR: data }, root);
    assert.equal(inputs.modelSource, 'CCA_DATA_DIR');
    assert.equal(inputs.imagesSource, 'arguments');
  });

  test('rejects a model without TFL3', async () => {
    const data = path.join(root, 'data');
    const notModel = path.join(root, 'labels-as-model.tflite.txt');
    await writeFile(notModel, '0:background\n1:tench\n');
    assert.throws(
      () => resolveInputs({ model: notModel, images: [] }, { CCA_DATA_DIR: data }, root),
      /is not a TensorFlow Lite model/,
    );
  });

  test('a folder without images is an error', async () => {
    const data = path.join(root, 'data');
    const emptyImages = path.join(root, 'no-images');
    await mkdir(emptyImages, { recursive: true });
    assert.throws(
      () => resolveInputs({ images: [emptyImages] }, { CCA_DATA_DIR: data }, root),
      /No images/,
    );
  });
});
