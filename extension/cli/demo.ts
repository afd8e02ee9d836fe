import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { startEmulatedRealm, type EmulatedRealm } from '../core/emulated-realm/launcher';
import type { Logger } from '../core/log';
import { RealmClient, type ImageResult } from '../core/protocol/client';
import { ResultsWriter, newResultsPath } from '../core/results';
import { InputError, resolveInputs, type DemoInputs } from './inputs';
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

interface DemoOptions {
  model?: string;
  labels?: string;
  images: string[];
  out?: string;
  shared?: string;
  timeoutMs: number;
  pollMs: number;
  realmPollMs?: number;
  help: boolean;
}

/** Exit code after Ctrl+C, as shells report a process ended by SIGINT. */
const cancelledExitCode = 130;

/** Runs the demo; returns the exit code: 0 all classified, 1 some failed, 130 cancelled. */
export async function runDemo(argv: string[], repositoryRoot: string): Promise<number> {
  const options = parseDemoOptions(argv);
  if (options.help) {
    process.stdout.write(demoHelp);
    return 0;
  }
  const inputs = resolveInputs(
    { model: options.model, labels: options.labels, images: options.images },
    process.env,
    repositoryRoot,
  );
  if (options.shared !== undefined) requireFolder(options.shared);
  const writer = await ResultsWriter.create(
    path.resolve(options.out ?? newResultsPath(process.cwd())),
  );

  console.log(`Model:  ${inputs.model}\nLabels: ${inputs.labels}`);
  console.log(`Images: ${inputs.images.length} (${describeSource(inputs.imagesSource)})\n`);
  const sharedDir = options.shared
    ? path.resolve(options.shared)
    : await mkdtemp(path.join(os.tmpdir(), 'cca-shared-'));
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  let results: ImageResult[];
  try {
    results = await classifyInEmulatedRealm(inputs, sharedDir, options, writer, controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    if (!options.shared) await rm(sharedDir, { recursive: true, force: true });
  }

  console.log(`\n${formatSummary(results)}`);
  if (writer.hasResults) console.log(`Results: ${writer.file}`);
  if (controller.signal.aborted) return cancelledExitCode;
  return results.every((r) => !r.error) ? 0 : 1;
}

/**
 * Takes the shared folder's lock, starts the emulated realm on the folder, and sends the
 * images. The lock comes first, so that a busy folder is reported before a second realm
 * starts on it.
 */
async function classifyInEmulatedRealm(
  inputs: DemoInputs,
  sharedDir: string,
  options: DemoOptions,
  writer: ResultsWriter,
  signal: AbortSignal,
): Promise<ImageResult[]> {
  const log = stderrLogger(Boolean(process.env.CCA_DEBUG));
  let realm: EmulatedRealm | undefined;
  const client = new RealmClient({
    sharedDir,
    timeoutMs: options.timeoutMs,
    pollMs: options.pollMs,
    realmStatus: () => realm?.status(),
    log,
  });
  await client.open();
  const progress = new ProgressBar(process.stderr, inputs.images.length);
  try {
    realm = startEmulatedRealm({
      script: path.join(__dirname, 'emulated-realm.js'),
      model: inputs.model,
      labels: inputs.labels,
      sharedDir,
      pollMs: options.realmPollMs,
      log,
    });
    void realm.exited.then(() => client.wake());
    return await client.classify(inputs.images, {
      signal,
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
    await realm?.stop();
    await client.close();
  }
}

function parseDemoOptions(argv: string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
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
  } catch (error) {
    const message = error instanceof Error ? error.message.split('. ')[0] : String(error);
    throw new InputError(`${message}. Run npm run demo -- --help for the options.`, {
      cause: error,
    });
  }
  const { values, positionals } = parsed;
  return {
    model: values.model,
    labels: values.labels,
    images: positionals,
    out: values.out,
    shared: values.shared,
    timeoutMs: parsePositive(values['timeout-ms'], '--timeout-ms') ?? 120_000,
    pollMs: parsePositive(values['poll-ms'], '--poll-ms') ?? 200,
    realmPollMs: parsePositive(values['realm-poll-ms'], '--realm-poll-ms'),
    help: values.help ?? false,
  };
}

function requireFolder(folder: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InputError(`Shared folder not found: ${path.resolve(folder)}. Create it first.`);
  }
}

function describeSource(source: DemoInputs['imagesSource']): string {
  if (source === 'arguments') return 'from the command line';
  return `from ${source}`;
}

function parsePositive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new InputError(`${flag} must be a positive whole number of milliseconds, not "${value}"`);
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
