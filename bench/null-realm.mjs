// A realm without inference, for measuring the protocol alone: the emulated realm's loop
// (out/core/protocol/realm-loop.js) with a classifier stand-in that returns one fixed result and
// runs no model. It reads, decodes and answers each query as the emulated realm does. It takes
// the emulated realm's arguments, so startEmulatedRealm can start it in place of
// dist/emulated-realm.js; the model file is never read.
import { openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const out = path.join(import.meta.dirname, '..', 'out');
const { parseRealmArguments } = require(path.join(out, 'cli/emulated-realm.js'));
const { runRealmLoop } = require(path.join(out, 'core/protocol/realm-loop.js'));

const command = parseRealmArguments(process.argv.slice(2));
if (command.kind !== 'run') throw new Error('usage: the emulated realm arguments');
const { parentPid, timingsFile, ...options } = command.options;

const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
process.on('SIGINT', () => controller.abort());
if (parentPid !== undefined) {
  const timer = setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      controller.abort();
    }
  }, 1000);
  timer.unref();
}

const timings = timingsFile === undefined ? undefined : openSync(timingsFile, 'a');
const stillResult = (labels) => [{ index: 0, label: labels[0] ?? '', confidence: 1 }];
const code = await runRealmLoop({
  ...options,
  output: process.stdout,
  signal: controller.signal,
  classifier: { classify: (_image, labels) => ({ predictions: stillResult(labels), inferMs: 0 }) },
  onImage: (timing) => {
    if (timings !== undefined) writeSync(timings, `${JSON.stringify(timing)}\n`);
  },
});
process.exit(code);
