import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runRealmLoop, type RealmImageTiming } from '../core/protocol/realm-loop';

export const realmHelp = `Usage: node dist/emulated-realm.js -l LABELS -m MODEL -S SIGNALLING_FILE [options]

Emulated realm: a test and development stand-in for realm_inference, the classifier that runs
inside a CCA realm. It runs the same .tflite model with TensorFlow Lite (WASM) locally in the
normal world, with no realm isolation, and so gives no confidentiality: any process on this
machine can read the images, the model and the results.

It serves the shared-folder protocol as the realm binary does: it waits for
"systemState: query" in the signalling file, classifies the image named by "fileName:",
prints the top-5 results on stdout and writes "systemState: processed".

Options (the short forms are the realm binary's):
  -l, --labels FILE        labels file, one label line per class index
  -m, --model FILE         .tflite model with one 1xHxWx3 input (float32, uint8 or int8)
  -S, --signalling FILE    signalling file in the shared folder
  -N, --count COUNT        exit after COUNT images (default: run until SIGINT or SIGTERM)
  -x, --xnnpack 0|1        1 prints the "Applied XNNPACK delegate" line per image (default 0)
  -t, --threads THREADS    TensorFlow Lite threads (default 1)

Options of the emulated realm:
  --poll-ms MS             poll the signalling file every MS milliseconds instead of waiting
                           on file events (5000 reproduces the realm binary's cadence)
  --parent-pid PID         stop (exit code 0) once process PID has ended, checked every second
  --timings FILE           append each image's step durations (read, decode, classify,
                           Infer(), reply; milliseconds) to FILE as a JSON line, for benchmarks
  -h, --help               show this help

Exit codes: 0 done or stopped by a signal; 1 a missing image, model, labels file or shared
folder, or a model TensorFlow Lite cannot load or run; 2 invalid arguments.
`;

/** Settings of one emulated realm run, from the command line. */
export interface RealmArguments {
  labelsPath: string;
  modelPath: string;
  signallingFile: string;
  imageCount?: number;
  xnnpack: boolean;
  threads: number;
  pollMs?: number;
  /** Process whose end stops the realm, so a killed client leaves no realm behind. */
  parentPid?: number;
  /** File that receives each image's step durations as a JSON line. */
  timingsFile?: string;
}

export type RealmCommand = { kind: 'help' } | { kind: 'run'; options: RealmArguments };

/** An invalid command line; the process reports it and exits with code 2. */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** Parses the emulated realm's command line; throws ArgumentError for invalid arguments. */
export function parseRealmArguments(argv: readonly string[]): RealmCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        labels: { type: 'string', short: 'l' },
        model: { type: 'string', short: 'm' },
        signalling: { type: 'string', short: 'S' },
        count: { type: 'string', short: 'N' },
        xnnpack: { type: 'string', short: 'x' },
        threads: { type: 'string', short: 't' },
        'poll-ms': { type: 'string' },
        'parent-pid': { type: 'string' },
        timings: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new ArgumentError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return { kind: 'help' };

  const options: RealmArguments = {
    labelsPath: requireValue(values.labels, '-l', 'labels file'),
    modelPath: requireValue(values.model, '-m', 'model file'),
    signallingFile: requireValue(values.signalling, '-S', 'signalling file'),
    xnnpack: parseSwitch(values.xnnpack, '-x'),
    threads: parsePositiveInteger(values.threads, '-t') ?? 1,
  };
  const imageCount = parsePositiveInteger(values.count, '-N');
  if (imageCount !== undefined) options.imageCount = imageCount;
  const pollMs = parsePositiveInteger(values['poll-ms'], '--poll-ms');
  if (pollMs !== undefined) options.pollMs = pollMs;
  const parentPid = parsePositiveInteger(values['parent-pid'], '--parent-pid');
  if (parentPid !== undefined) options.parentPid = parentPid;
  if (values.timings !== undefined) {
    options.timingsFile = requireValue(values.timings, '--timings', 'timings file');
  }
  return { kind: 'run', options };
}

function requireValue(
  value: string | boolean | undefined,
  flag: string,
  description: string,
): string {
  if (typeof value !== 'string' || value === '') {
    throw new ArgumentError(`Missing ${flag}: give the ${description} as ${flag} FILE`);
  }
  return value;
}

function parseSwitch(value: string | boolean | undefined, flag: string): boolean {
  if (value === undefined) return false;
  if (value === '0' || value === '1') return value === '1';
  throw new ArgumentError(`Invalid ${flag} value "${String(value)}": expected 0 or 1`);
}

function parsePositiveInteger(
  value: string | boolean | undefined,
  flag: string,
): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new ArgumentError(
      `Invalid ${flag} value "${String(value)}": expected a whole number >= 1`,
    );
  }
  return number;
}

/** Runs the emulated realm process; returns its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let command: RealmCommand;
  try {
    command = parseRealmArguments(argv);
  } catch (error) {
    if (!(error instanceof ArgumentError)) throw error;
    process.stderr.write(`emulated-realm: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(realmHelp);
    return 0;
  }

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const { parentPid, timingsFile, ...loopOptions } = command.options;
  const parentCheck = parentPid === undefined ? undefined : watchParent(parentPid, stop);
  let timingsFd: number | undefined;
  try {
    const fd = timingsFile === undefined ? undefined : openSync(timingsFile, 'a');
    timingsFd = fd;
    const onImage =
      fd === undefined
        ? undefined
        : (timing: RealmImageTiming) => void writeSync(fd, `${JSON.stringify(timing)}\n`);
    return await runRealmLoop({
      ...loopOptions,
      output: process.stdout,
      signal: controller.signal,
      onImage,
    });
  } catch (error) {
    // stderr shares output.txt with stdout in the realm's start script, so the normal world
    // reads this line and stops waiting.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`FATAL: ${message}\n`);
    return 1;
  } finally {
    if (timingsFd !== undefined) closeSync(timingsFd);
    clearInterval(parentCheck);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Calls `onGone` once process `pid` has ended (its client was killed without cleanup). */
function watchParent(pid: number, onGone: () => void): NodeJS.Timeout {
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') return;
      process.stderr.write(`INFO: parent process ${pid} ended; stopping\n`);
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  timer.unref();
  return timer;
}

// Run only as the process entry (dist/emulated-realm.js or out/cli/emulated-realm.js), not when
// a unit test imports the parser.
if (require.main?.filename === __filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`FATAL: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
