import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  OutputCollector,
  formatConfidence,
  parseOutputLine,
  realmLines,
} from '../../../core/protocol/output';

const image = '/root/shared_with_realm/image.bmp';

// One image as the realm binary prints it, with the lines TensorFlow Lite adds.
const transcript = [
  'INFO: Loaded model /root/realm/mobilenet_v1_1.0_224.tflite',
  'INFO: Number of threads1',
  'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.',
  'INFO: checkSystemStateAndGetFilename--------------------------------',
  'Waiting for signalling file...',
  "Waiting for system state to become 'query'...",
  'Waiting for signalling file...',
  'Waiting for signalling file...',
  `System state is 'query'. Filename: ${image}`,
  `INFO: settings->input_bmp_name: ${image}`,
  'INFO: Applied XNNPACK delegate.',
  'INFO: 0.784314: 653 653:military uniform',
  'INFO: 0.0627451: 907 907:Windsor tie',
  'INFO: 0.0156863: 458 458:bow tie, bow-tie, bowtie',
  'INFO: checkSystemStateAndGetFilename--------------------------------',
  'Waiting for signalling file...',
].join('\n');

describe('parseOutputLine', () => {
  test('result line', () => {
    assert.deepEqual(parseOutputLine('INFO: 0.784314: 653 653:military uniform'), {
      kind: 'result',
      prediction: { confidence: 0.784314, index: 653, label: '653:military uniform' },
    });
  });

  test('result line in exponent form', () => {
    const event = parseOutputLine('INFO: 1e-05: 3 3:x');
    assert.equal(event.kind, 'result');
  });

  test('name line', () => {
    assert.deepEqual(parseOutputLine(`INFO: settings->input_bmp_name: ${image}`), {
      kind: 'input',
      path: image,
    });
  });

  test('FATAL line', () => {
    const event = parseOutputLine(`FATAL: input file ${image} not found`);
    assert.deepEqual(event, { kind: 'fatal', message: `input file ${image} not found` });
  });

  test('unknown lines are other', () => {
    for (const line of ['INFO: Number of threads1', 'INFO: Applied XNNPACK delegate.', '', '??']) {
      assert.equal(parseOutputLine(line).kind, 'other', line);
    }
  });

  test('CR line end is ignored', () => {
    assert.equal(parseOutputLine('INFO: 0.5: 1 1:goldfish\r').kind, 'result');
  });
});

describe('OutputCollector', () => {
  test('groups the transcript per image', () => {
    const collector = new OutputCollector();
    collector.push(transcript + '\n');
    const output = collector.find(image);
    assert.ok(output);
    assert.deepEqual(
      output.predictions.map((p) => p.index),
      [653, 907, 458],
    );
    assert.equal(output.error, undefined);
  });

  test('waits for the rest of a partial line', () => {
    const collector = new OutputCollector();
    collector.push(`INFO: settings->input_bmp_name: ${image}\nINFO: 0.78`);
    assert.equal(collector.find(image)?.predictions.length, 0);
    collector.push('4314: 653 653:military uniform\n');
    assert.equal(collector.find(image)?.predictions[0]?.confidence, 0.784314);
  });

  test('an image with fewer than 5 results', () => {
    const collector = new OutputCollector();
    collector.push(`INFO: settings->input_bmp_name: ${image}\nINFO: 0.99: 1 1:goldfish\n`);
    assert.equal(collector.find(image)?.predictions.length, 1);
  });

  test('results after the next iteration are not this image', () => {
    const collector = new OutputCollector();
    collector.push(`INFO: settings->input_bmp_name: ${image}\n${realmLines.checkState()}\n`);
    collector.push('INFO: 0.5: 2 2:great white shark\n');
    assert.equal(collector.find(image)?.predictions.length, 0);
  });

  test('the last output of a repeated name wins', () => {
    const collector = new OutputCollector();
    collector.push(`INFO: settings->input_bmp_name: ${image}\nINFO: 0.5: 1 1:a\n`);
    collector.push(`INFO: settings->input_bmp_name: ${image}\nINFO: 0.6: 2 2:b\n`);
    assert.equal(collector.find(image)?.predictions[0]?.index, 2);
  });

  test('records FATAL messages', () => {
    const collector = new OutputCollector();
    collector.push(`${realmLines.fatalNotFound(image)}\n`);
    assert.deepEqual(collector.fatalMessages, [`input file ${image} not found`]);
  });

  test('ties a decode error to its image', () => {
    const collector = new OutputCollector();
    collector.push(`${realmLines.error(image, 'truncated pixel data')}\n`);
    assert.match(collector.find(image)?.error ?? '', /truncated pixel data/);
  });
});

describe('formatConfidence', () => {
  test('six significant digits like C++ streams', () => {
    assert.equal(formatConfidence(200 / 255), '0.784314');
    assert.equal(formatConfidence(16 / 255), '0.0627451');
    assert.equal(formatConfidence(1), '1');
    assert.equal(formatConfidence(0.5), '0.5');
    assert.equal(formatConfidence(0.001), '0.001');
    assert.equal(formatConfidence(0.00001234), '1.234e-05');
    assert.equal(formatConfidence(0), '0');
  });

  test('formats what the parser reads back', () => {
    const line = realmLines.result({ index: 7, label: '7:cock', confidence: 3 / 255 });
    assert.equal(line, 'INFO: 0.0117647: 7 7:cock');
    const event = parseOutputLine(line);
    assert.equal(event.kind === 'result' && event.prediction.index, 7);
  });
});
