import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeBmp } from '../../../core/images/bmp';
import {
  SCORE_THRESHOLD,
  TfliteClassifier,
  topPredictions,
  type Prediction,
} from '../../../core/realm-runtime/classifier';
import { readLabels, splitLabels } from '../../../core/realm-runtime/labels';
import { dataDir, type ExpectedTop5 } from '../data';

const tolerance = 1e-3;

function indices(predictions: Prediction[]): number[] {
  return predictions.map((p) => p.index);
}

describe('TfliteClassifier on real models', () => {
  test('matches expected top-5', async (t) => {
    const data = dataDir();
    const expected = JSON.parse(
      await readFile(path.join(data, 'expected', 'top5.json'), 'utf8'),
    ) as ExpectedTop5;
    const labels = await readLabels(path.join(data, 'labels', 'labels.txt'));
    const models = Object.keys(expected);
    assert.ok(models.length >= 4, `expected/top5.json lists ${models.length} models`);

    for (const model of models) {
      await t.test(model, async () => {
        const classifier = await TfliteClassifier.load(path.join(data, 'models', model));
        try {
          for (const [imageName, want] of Object.entries(expected[model] ?? {})) {
            const file = path.join(data, 'images', imageName);
            const image = decodeBmp(await readFile(file), file);
            const { predictions } = classifier.classify(image, labels);

            assert.deepEqual(indices(predictions), indices(want), `${imageName}: class indices`);
            want.forEach((wanted, rank) => {
              const got = predictions[rank];
              assert.equal(got?.label, wanted.label, `${imageName} rank ${rank}: label`);
              const difference = Math.abs((got?.confidence ?? NaN) - wanted.confidence);
              assert.ok(
                difference <= tolerance,
                `${imageName} rank ${rank}: confidence ${got?.confidence} vs ${wanted.confidence}`,
              );
            });
          }
        } finally {
          classifier.dispose();
        }
      });
    }
  });

  test('float32 resize equal at input size', async () => {
    // The images are 224x224, so a 224 model resizes to the same size, where both
    // arithmetics must give identical inputs and so identical scores.
    const data = dataDir();
    const model = path.join(data, 'models', 'mobilenet_v2_1.0_224_quant.tflite');
    const labels = await readLabels(path.join(data, 'labels', 'labels.txt'));
    const file = path.join(data, 'images', 'image3.bmp');
    const image = decodeBmp(await readFile(file), file);
    const exact = await TfliteClassifier.load(model);
    const float32 = await TfliteClassifier.load(model, { resizeArithmetic: 'float32' });
    try {
      assert.equal(exact.inputWidth, 224);
      assert.deepEqual(
        float32.classify(image, labels).predictions,
        exact.classify(image, labels).predictions,
      );
    } finally {
      exact.dispose();
      float32.dispose();
    }
  });

  test('reports input size and type', async () => {
    const data = dataDir();
    const quant = await TfliteClassifier.load(
      path.join(data, 'models', 'mobilenet_v1_0.75_192_quant.tflite'),
    );
    const float = await TfliteClassifier.load(
      path.join(data, 'models', 'mobilenet_v1_0.25_128_float_dequant.tflite'),
    );
    try {
      assert.deepEqual([quant.inputWidth, quant.inputHeight, quant.inputType], [192, 192, 'uint8']);
      assert.deepEqual(
        [float.inputWidth, float.inputHeight, float.inputType],
        [128, 128, 'float32'],
      );
    } finally {
      quant.dispose();
      float.dispose();
    }
  });

  test('inferMs is measured', async () => {
    const data = dataDir();
    const classifier = await TfliteClassifier.load(
      path.join(data, 'models', 'mobilenet_v1_0.25_128_quant.tflite'),
    );
    try {
      const image = { width: 4, height: 4, data: new Uint8Array(48).fill(128) };
      const { inferMs } = classifier.classify(image, []);
      assert.ok(Number.isFinite(inferMs), `inferMs ${inferMs} is finite`);
      assert.ok(inferMs > 0, `inferMs ${inferMs} is positive`);
    } finally {
      classifier.dispose();
    }
  });
});

describe('TfliteClassifier.load errors', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'cca-classifier-test-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  test('missing model names the file', async () => {
    const file = path.join(folder, 'absent.tflite');
    await assert.rejects(TfliteClassifier.load(file), (error: Error) => {
      assert.match(error.message, /not found/);
      assert.ok(error.message.includes(file), error.message);
      return true;
    });
  });

  test('invalid model names the file', async () => {
    const file = path.join(folder, 'garbage.tflite');
    await writeFile(file, 'this is not a flatbuffer model at all');
    await assert.rejects(TfliteClassifier.load(file), (error: Error) => {
      assert.match(error.message, /TensorFlow Lite rejected model file/);
      assert.ok(error.message.includes(file), error.message);
      return true;
    });
  });

  test('disposed classifier rejects classify', async () => {
    const data = dataDir();
    const classifier = await TfliteClassifier.load(
      path.join(data, 'models', 'mobilenet_v1_0.25_128_quant.tflite'),
    );
    classifier.dispose();
    const image = { width: 1, height: 1, data: new Uint8Array(3) };
    assert.throws(() => classifier.classify(image, []), /disposed/);
  });
});

describe('topPredictions', () => {
  const labels = ['0:a', '1:b', '2:c', '3:d', '4:e', '5:f'];

  test('equal scores list larger index first', () => {
    const scores = Float32Array.from([0.1, 0.3, 0.3, 0.05, 0.3, 0.2, 0.0005]);
    const top = topPredictions(scores, 'float32', labels);
    assert.deepEqual(indices(top), [4, 2, 1, 5, 0]);
  });

  test('tie at the cut drops smaller index', () => {
    const scores = Float32Array.from([0.2, 0.2, 0.2, 0.2, 0.2, 0.2]);
    assert.deepEqual(indices(topPredictions(scores, 'float32', labels)), [5, 4, 3, 2, 1]);
  });

  test('threshold 0.001 is inclusive', () => {
    const scores = Float32Array.from([0.001, 0.00099, 0.5]);
    const top = topPredictions(scores, 'float32', labels);
    assert.deepEqual(indices(top), [2, 0]);
    assert.equal(top[1]?.confidence, SCORE_THRESHOLD);
  });

  test('fewer than five results', () => {
    const scores = Float32Array.from([0, 0.9, 0, 0.0001, 0.05]);
    assert.deepEqual(indices(topPredictions(scores, 'float32', labels)), [1, 4]);
  });

  test('uint8 scores are q/255', () => {
    const top = topPredictions(Uint8Array.from([0, 1, 255, 128]), 'uint8', labels);
    assert.deepEqual(indices(top), [2, 3, 1]);
    assert.equal(top[0]?.confidence, 1);
    assert.equal(top[1]?.confidence, Math.fround(128 / 255));
    assert.equal(top[2]?.confidence, Math.fround(1 / 255));
  });

  test('int8 scores are (q+128)/256', () => {
    const top = topPredictions(Int8Array.from([-128, 127, 0]), 'int8', labels);
    assert.deepEqual(indices(top), [1, 2]);
    assert.equal(top[0]?.confidence, 255 / 256);
    assert.equal(top[1]?.confidence, 0.5);
  });

  test('label is the whole line, missing is empty', () => {
    const top = topPredictions(Float32Array.from([0.6, 0.4]), 'float32', ['0:cat, tabby']);
    assert.equal(top[0]?.label, '0:cat, tabby');
    assert.equal(top[1]?.label, '');
  });
});

describe('labels', () => {
  test('splitLabels strips CR and last newline', () => {
    assert.deepEqual(splitLabels('0:a\r\n1:b\r\n'), ['0:a', '1:b']);
    assert.deepEqual(splitLabels('0:a\n\n2:c'), ['0:a', '', '2:c']);
    assert.deepEqual(splitLabels(''), []);
  });

  test('readLabels reads the realm labels', async () => {
    const labels = await readLabels(path.join(dataDir(), 'labels', 'labels.txt'));
    assert.equal(labels.length, 1001);
    assert.equal(labels[0], '0:background');
  });

  test('readLabels names a missing file', async () => {
    const file = path.join(os.tmpdir(), 'cca-no-such-labels-file.txt');
    await assert.rejects(readLabels(file), new RegExp(`Labels file ${file} not found`));
  });
});
