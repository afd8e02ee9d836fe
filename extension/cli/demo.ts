import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulatedRealm } from '../core/emulated-realm/launcher';
import type { Logger } from '../core/log';
import { RealmClient, type ImageResult } from '../core/protocol/client';
import { ResultsWriter, newResultsPath } from '../core/results';
import { resolveInputs } from './inputs';
import { ProgressBar, formatResult, formatSummary } from './report';

export const demoHelp = `Usage: npm run demo -- [options] [image or folder ...]

Classifies images in the emulated realm through the shared-folder protocol and prints the
top-5 labels per image. The emulated realm runs the .tflite model locally in the normal
world: it offers no confidentiality, and stands in for the realm on an FVP.

Inputs (flags first, then CCA_DATA_DIR with models/, labels/, images/, then realm/ and
normal_world/input_data/ in this repository):
  --model FILE        .tflite model (CCA_DATA_DIR: models/mobilenet_v1_0.75_192_quant.tflite)
  --labels FILE       labels file, one line per class (CCA_DATA_DIR: labels/labels.txt)
  [image or folder]   .bmp, .png, .jpg or .jpeg files, or folders of them (default: images/)

Options:
  --out FILE          JSON Lines results file to create (default: a new file in .cca/results/)
  --shared DIR        shared folder to use (default: a new temporary folder, removed after)
  --timeout-ms MS     per-image timeout in milliseconds (default 120000)
  --poll-ms MS        normal-world polling interval in milliseconds (default 200)
  --realm-poll-ms MS  make the realm poll at this interval instead of using file events
                      (5000 reproduces the original scripts' cadence)
  -h, --help          show this help
`;

/** Runs the demo; returns the process exit code (0 all classified, 1 some failed). */
export async function runDemo(argv: string[], repositoryRoot: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      labels: { type: 'string' },
      out: { type: 'string' },
      shared: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'poll-ms': { type: 'string' },
      'realm-poll-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(demoHelp);
    return 0;
  }
  const inputs = resolveInputs(
    { model: values.model, labels: values.labels, images: positionals },
    process.env,
    repositoryRoot,
  );
  const timeoutMs = parsePositive(values['timeout-ms'], '--timeout-ms') ?? 120_000;
  const pollMs = parsePositive(values['poll-ms'], '--poll-ms') ?? 200;
  const realmPollMs = parsePositive(values['realm-poll-ms'], '--realm-poll-ms');
  const writer = await ResultsWriter.create(
    path.resolve(values.out ?? newResultsPath(process.cwd())),
  );

  console.log(`Model:  ${inputs.model}\nLabels: ${inputs.labels}`);
  console.log(`Images: ${inputs.images.length} (from ${inputs.source})\n`);
  const sharedDir = values.shared
    ? path.resolve(values.shared)
    : await mkdtemp(path.join(os.tmpdir(), 'cca-shared-'));
  const log = stderrLogger(Boolean(process.env.CCA_DEBUG));
  const realm = startEmulatedRealm({
    script: path.join(__dirname, 'emulated-realm.js'),
    model: inputs.model,
    labels: inputs.labels,
    sharedDir,
    pollMs: realmPollMs,
    log,
  });
  const client = new RealmClient({ sharedDir, timeoutMs, pollMs, realmStatus: realm.status, log });
  void realm.exited.then(() => client.wake());

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  const progress = new ProgressBar(process.stderr, inputs.images.length);
  let results: ImageResult[];
  try {
    results = await client.classify(inputs.images, {
      signal: controller.signal,
      onStart: (image, position) => progress.update(position, path.basename(image)),
      onResult: async (result, position) => {
        await writer.append(result);
        progress.clear();
        console.log(formatResult(result));
        progress.update(position + 1, '');
      },
    });
  } finally {
    progress.clear();
    process.off('SIGINT', onSignal);
    await realm.stop();
    if (!values.shared) await rm(sharedDir, { recursive: true, force: true });
  }

  console.log(`\n${formatSummary(results)}`);
  console.log(`Results: ${writer.file}`);
  return results.every((r) => !r.error) ? 0 : 1;
}

function parsePositive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new RangeError(`${flag} must be a positive number of milliseconds, not "${value}"`);
  }
  return number;
}

/** Logs warnings and errors to stderr; with `verbose`, info and debug too. */
function stderrLogger(verbose: boolean): Logger {
  const write = (level: string) => (message: string) =>
    process.stderr.write(`[${level}] ${message}\n`);
  const drop = (): void => undefined;
  return {
    debug: verbose ? write('debug') : drop,
    info: verbose ? write('info') : drop,
    warn: write('warn'),
    error: verbose ? write('error') : drop,
  };
}
