// Property tests of the output.txt parser: line classification and per-image grouping.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  OutputCollector,
  formatConfidence,
  parseOutputLine,
  realmLines,
  type Prediction,
} from '../../../core/protocol/output';

/** Text that fits in one output.txt line: anything but a line feed. */
const lineText = (maxLength: number) =>
  fc.string({ unit: 'grapheme', maxLength }).map((text) => text.replace(/\n/g, ' '));

/** A label line of a labels file; CR is removed when the file is read. */
const label = lineText(40).map((text) => text.replace(/\r/g, ' '));

const imagePath = lineText(60).map((text) => `/shared/${text.replace(/\r/g, '_')}.bmp`);

const prediction: fc.Arbitrary<Prediction> = fc.record({
  index: fc.nat(10_000),
  label,
  confidence: fc.double({ min: 0, max: 1, noNaN: true }),
});

/** Splits text at the given cut points, as reads of a growing file would. */
function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let previous = 0;
  for (const point of [...points, text.length]) {
    parts.push(text.slice(previous, point));
    previous = point;
  }
  return parts;
}

/** Returns the lines the realm prints for one image, in the order of its loop. */
function imageTranscript(path: string, predictions: Prediction[], crlf: boolean): string {
  const lines = [
    realmLines.checkState(),
    realmLines.waitingForQuery(),
    realmLines.stateIsQuery(path),
    realmLines.inputName(path),
    realmLines.appliedXnnpack(),
    ...predictions.map((p) => realmLines.result(p)),
  ];
  const end = crlf ? '\r\n' : '\n';
  return lines.join(end) + end;
}

describe('output.txt parser properties', () => {
  test('any line parses without throwing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (line) => {
        const event = parseOutputLine(line);
        if (event.kind === 'result') {
          assert.ok(Number.isFinite(event.prediction.confidence));
          assert.ok(Number.isSafeInteger(event.prediction.index));
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('a result line reads back as printed', () => {
    fc.assert(
      fc.property(prediction, (p) => {
        const event = parseOutputLine(realmLines.result(p));
        assert.equal(event.kind, 'result', realmLines.result(p));
        if (event.kind !== 'result') return;
        assert.equal(event.prediction.index, p.index);
        assert.equal(event.prediction.label, p.label);
        // Six significant digits, as the realm prints with C++'s default stream format.
        assert.equal(event.prediction.confidence, Number(formatConfidence(p.confidence)));
        assert.ok(Math.abs(event.prediction.confidence - p.confidence) <= 5e-6 * p.confidence);
      }),
      {
        numRuns: 2000,
        // Labels with the line and paragraph separators, which `.` in a pattern does not match
        // without the `s` flag.
        examples: [
          [{ index: 3, label: '3:a\u2028b', confidence: 0.5 }],
          [{ index: 4, label: '\u2029', confidence: 1 }],
        ],
      },
    );
  });

  test('grouping does not depend on how reads split the text', () => {
    const image = fc.tuple(imagePath, fc.array(prediction, { maxLength: 5 }));
    fc.assert(
      fc.property(
        fc.array(image, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (images, cuts, crlf) => {
          const text = images.map(([path, ps]) => imageTranscript(path, ps, crlf)).join('');
          const collector = new OutputCollector();
          for (const part of splitAt(text, cuts)) collector.push(part);

          for (const [path] of images) {
            const last = [...images].reverse().find(([other]) => other === path);
            const found = collector.find(path);
            assert.ok(last);
            assert.ok(found, `no output for ${JSON.stringify(path)}`);
            assert.deepEqual(
              found.predictions.map((p) => [p.index, p.label]),
              last[1].map((p) => [p.index, p.label]),
            );
          }
          assert.deepEqual(collector.fatalMessages, []);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('a FATAL line is always recorded', () => {
    fc.assert(
      fc.property(imagePath, fc.array(fc.nat(), { maxLength: 5 }), (path, cuts) => {
        const text = `${realmLines.inputName(path)}\n${realmLines.fatalNotFound(path)}\n`;
        const collector = new OutputCollector();
        for (const part of splitAt(text, cuts)) collector.push(part);
        assert.deepEqual(collector.fatalMessages, [`input file ${path} not found`]);
      }),
      { numRuns: 500 },
    );
  });
});
