// The realm side of GuaranTEE's shared-folder protocol: the console lines that mount the 9p
// share in the realm and start `realm_inference`, and recognisers for what the service prints
// when it starts or fails.

import { cleanConsoleLine } from './lkvm-output';
import { CONTROL_CHARACTER, quoteShellWord, renderShellLine } from './shell-words';

/** How to start the inference service inside the realm. Paths are paths inside the realm. */
export interface InferenceServiceOptions {
  /** The `.tflite` model (`-m`). */
  model: string;
  /** The labels file, one line per class (`-l`). */
  labels: string;
  /** Number of images the service classifies before it exits (`-N`). */
  imageCount: number;
  /** Mount point of the share in the realm, the same path as in the normal world. */
  mountPoint?: string;
  /** The 9p tag of the share, as given to `lkvm run --9p <folder>,<tag>`. */
  tag?: string;
  /** Options for `mount -o`; empty for none. */
  mountOptions?: string;
  /** The signalling file (`-S`); defaults to signalling.txt in the mount point. */
  signallingFile?: string;
  /** The file that receives the service's stdout and stderr; defaults to output.txt in the
   * mount point. `null` runs the service in the foreground on the console instead. */
  outputFile?: string | null;
  /** Whether to use the XNNPACK delegate (`-x 1`). */
  xnnpack?: boolean;
  /** The service binary, a name on the realm's PATH or an absolute path. */
  binary?: string;
  /** The mount table read to skip a share that is already mounted. */
  mountTable?: string;
}

/** The share and service settings of GuaranTEE's realm start script. */
export const INFERENCE_DEFAULTS = Object.freeze({
  mountPoint: '/root/shared_with_realm',
  tag: 'sh',
  mountOptions: 'trans=virtio',
  xnnpack: true,
  binary: 'realm_inference',
  mountTable: '/proc/mounts',
});

/** The message the start line prints when the service already runs. */
export const ALREADY_RUNNING_MESSAGE = 'realm_inference is already running';

type Resolved = Required<Omit<InferenceServiceOptions, 'outputFile'>> & {
  outputFile: string | null;
};

/** Checks options and fills in defaults; throws an Error naming every invalid option. */
export function resolveInferenceOptions(options: InferenceServiceOptions): Resolved {
  const mountPoint = stripTrailingSlash(options.mountPoint ?? INFERENCE_DEFAULTS.mountPoint);
  const resolved: Resolved = {
    model: options.model,
    labels: options.labels,
    imageCount: options.imageCount,
    mountPoint,
    tag: options.tag ?? INFERENCE_DEFAULTS.tag,
    mountOptions: options.mountOptions ?? INFERENCE_DEFAULTS.mountOptions,
    signallingFile: options.signallingFile ?? `${mountPoint}/signalling.txt`,
    outputFile: options.outputFile === undefined ? `${mountPoint}/output.txt` : options.outputFile,
    xnnpack: options.xnnpack ?? INFERENCE_DEFAULTS.xnnpack,
    binary: options.binary ?? INFERENCE_DEFAULTS.binary,
    mountTable: options.mountTable ?? INFERENCE_DEFAULTS.mountTable,
  };

  const problems: string[] = [];
  const checkPath = (label: string, value: string): void => {
    if (!value.startsWith('/')) problems.push(`${label} "${value}" is not an absolute path`);
    if (CONTROL_CHARACTER.test(value)) problems.push(`${label} contains a control character`);
  };
  checkPath('model', resolved.model);
  checkPath('labels', resolved.labels);
  checkPath('mountPoint', resolved.mountPoint);
  checkPath('signallingFile', resolved.signallingFile);
  checkPath('mountTable', resolved.mountTable);
  if (resolved.outputFile !== null) checkPath('outputFile', resolved.outputFile);
  if (resolved.mountPoint === '') problems.push('mountPoint is the root folder');
  if (!Number.isSafeInteger(resolved.imageCount) || resolved.imageCount < 1) {
    problems.push(`imageCount ${String(resolved.imageCount)} is not a whole number of at least 1`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(resolved.tag)) {
    problems.push(`tag "${resolved.tag}" is not made of letters, digits, "_", "." or "-"`);
  }
  if (!/^[A-Za-z0-9_.,=-]*$/.test(resolved.mountOptions)) {
    problems.push(`mountOptions "${resolved.mountOptions}" is not a comma-separated option list`);
  }
  if (resolved.binary === '' || CONTROL_CHARACTER.test(resolved.binary)) {
    problems.push('binary is empty or contains a control character');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid inference service options: ${problems.join('; ')}.`);
  }
  return resolved;
}

function stripTrailingSlash(folder: string): string {
  return folder.length > 1 ? folder.replace(/\/+$/, '') : folder;
}

/** Writes a path as the kernel writes it in /proc/mounts (octal escapes for these four). */
function mountTableEscape(folder: string): string {
  return folder
    .replace(/\\/g, '\\134')
    .replace(/ /g, '\\040')
    .replace(/\t/g, '\\011')
    .replace(/\n/g, '\\012');
}

/** Builds the argv that starts the service: `realm_inference -l -m -S -N [-x 1]`. */
export function buildInferenceArgv(options: InferenceServiceOptions): string[] {
  const resolved = resolveInferenceOptions(options);
  const argv = [resolved.binary, '-l', resolved.labels, '-m', resolved.model];
  argv.push('-S', resolved.signallingFile, '-N', String(resolved.imageCount));
  if (resolved.xnnpack) argv.push('-x', '1');
  return argv;
}

/**
 * Builds the lines to type into the realm's console. They create the mount point, mount the
 * 9p share unless the mount table already lists it, and start the service in the background
 * with its output redirected, unless pidof finds it running.
 */
export function buildInferenceServiceLines(options: InferenceServiceOptions): string[] {
  const resolved = resolveInferenceOptions(options);
  const lines = [renderShellLine(['mkdir', '-p', resolved.mountPoint])];

  const mountArgv = ['mount', '-t', '9p'];
  if (resolved.mountOptions !== '') mountArgv.push('-o', resolved.mountOptions);
  mountArgv.push(resolved.tag, resolved.mountPoint);
  // A mount table line is "<tag> <mount point> 9p <options> 0 0".
  const mounted = ` ${mountTableEscape(resolved.mountPoint)} 9p `;
  lines.push(
    `${renderShellLine(['grep', '-qsF', mounted, resolved.mountTable])} || ` +
      renderShellLine(mountArgv),
  );

  const start = renderShellLine(buildInferenceArgv(options));
  const name = resolved.binary.split('/').pop() ?? resolved.binary;
  const running = renderShellLine(['pidof', name]);
  const already = renderShellLine(['echo', ALREADY_RUNNING_MESSAGE]);
  if (resolved.outputFile === null) {
    lines.push(`if ${running} >/dev/null; then ${already}; else ${start}; fi`);
  } else {
    const output = quoteShellWord(resolved.outputFile);
    lines.push(`if ${running} >/dev/null; then ${already}; else ${start} >${output} 2>&1 & fi`);
  }
  return lines;
}

/** Meaning of a line of the service's start-up output. */
export type InferenceOutputKind =
  | 'model-loaded'
  | 'delegate-applied'
  | 'waiting'
  | 'already-running'
  | 'binary-not-found'
  | 'mount-failed'
  | 'model-not-found'
  | 'model-invalid'
  | 'labels-not-found'
  | 'input-not-found'
  | 'fatal';

/** A recognised line of the service's output or of the console around it. */
export interface InferenceOutputEvent {
  kind: InferenceOutputKind;
  /** `error` when the service did not start or stopped, `info` otherwise. */
  severity: 'info' | 'error';
  /** The line without escape sequences and line ends. */
  line: string;
  /** The 0-based index of the line in the text given to recogniseInferenceOutput. */
  lineIndex: number;
  /** Explanation for the user, with what to do next. */
  message: string;
  /** The file the line names (model, labels or input image), when it names one. */
  path?: string;
}

type LineEvent = Omit<InferenceOutputEvent, 'lineIndex'>;

// TensorFlow Lite's messages for a model file that loads but cannot run.
const MODEL_FAILED = new RegExp(
  [
    'Failed to construct interpreter',
    'Failed to allocate tensors',
    'Failed to invoke tflite',
    'not a valid flatbuffer',
  ].join('|'),
  'i',
);

/** Recognises one line of the service's output; undefined for lines it does not know. */
export function recogniseInferenceLine(rawLine: string): LineEvent | undefined {
  const line = cleanConsoleLine(rawLine).trimEnd();
  const info = (kind: InferenceOutputKind, message: string, path?: string): LineEvent =>
    path === undefined
      ? { kind, severity: 'info', line, message }
      : { kind, severity: 'info', line, message, path };
  const error = (kind: InferenceOutputKind, message: string, path?: string): LineEvent => ({
    ...info(kind, message, path),
    severity: 'error',
  });

  let match = /^INFO: Loaded model (.+)$/.exec(line);
  if (match) return info('model-loaded', `The service loaded the model ${match[1]}.`, match[1]);
  if (/Applied XNNPACK delegate/.test(line)) {
    return info('delegate-applied', 'The service runs the model with the XNNPACK delegate.');
  }
  if (/^Waiting for (?:signalling file|system state to become 'query')\.\.\./.test(line)) {
    return info('waiting', 'The service is running and polls the signalling file.');
  }
  if (line.endsWith(ALREADY_RUNNING_MESSAGE)) {
    return info('already-running', 'The service was already running; it was not started again.');
  }

  match = /^FATAL: input file (.*) not found/.exec(line);
  if (match) {
    return error(
      'input-not-found',
      `The service could not open the image ${match[1]} and exited. Start it again, and ` +
        'write images into the shared folder before the query that names them.',
      match[1],
    );
  }
  match = /^FATAL:\s*(.*)$/.exec(line);
  if (match) return error('fatal', `The service stopped: ${match[1]}`);

  if (/realm_inference: (?:command )?not found/.test(line)) {
    return error(
      'binary-not-found',
      "The realm has no realm_inference on its PATH. Put the binary in the project's realm/ " +
        'folder and rebuild the stack, or set the path of the binary.',
    );
  }

  match = /^mount: (?:mounting \S+ on (\S+) failed: (.*)|(.*unknown filesystem type.*))$/.exec(
    line,
  );
  if (match) {
    return error('mount-failed', mountFailureMessage(match[2] ?? match[3] ?? ''), match[1]);
  }

  match = /Failed to mmap model\s*(\S*)|Could not open '([^']+)'/.exec(line);
  if (match) {
    const model = match[1] || match[2];
    return error(
      'model-not-found',
      `The service could not open the model${model ? ` ${model}` : ''}. Check the model path; ` +
        "files of the project's realm/ folder are in the realm's root file system.",
      model || undefined,
    );
  }
  if (MODEL_FAILED.test(line)) {
    return error('model-invalid', `The service could not run the model: ${line}`);
  }

  match = /Labels file (\S+) not found/.exec(line);
  if (match) {
    return error(
      'labels-not-found',
      `The service could not open the labels file ${match[1]}. Check the labels path.`,
      match[1],
    );
  }
  return undefined;
}

function mountFailureMessage(reason: string): string {
  if (/No such device|unknown filesystem type/i.test(reason)) {
    return (
      'Mounting the 9p share failed because the realm kernel has no 9p file system ' +
      '(CONFIG_9P_FS and CONFIG_NET_9P_VIRTIO).'
    );
  }
  if (/No such file or directory/i.test(reason)) {
    return (
      'Mounting the 9p share failed: no 9p device has that tag. Start the realm with ' +
      '--9p <folder>,<tag> and the same tag.'
    );
  }
  return `Mounting the 9p share failed: ${reason}`;
}

/** Recognises every line of the service's output or console text. */
export function recogniseInferenceOutput(text: string): InferenceOutputEvent[] {
  const events: InferenceOutputEvent[] = [];
  text.split('\n').forEach((line, lineIndex) => {
    const event = recogniseInferenceLine(line);
    if (event) events.push({ ...event, lineIndex });
  });
  return events;
}

/** State of the service's start after some output. */
export interface InferenceStartSummary {
  /** `failed` after any error, `running` once it polls or was running, else `starting`. */
  outcome: 'failed' | 'running' | 'starting';
  /** The first error, for `failed`. */
  error?: InferenceOutputEvent;
  events: InferenceOutputEvent[];
}

/** Summarises the service's start-up output (output.txt, or the console). */
export function summariseInferenceStart(text: string): InferenceStartSummary {
  const events = recogniseInferenceOutput(text);
  const error = events.find((event) => event.severity === 'error');
  if (error) return { outcome: 'failed', error, events };
  const running = events.some(
    (event) => event.kind === 'waiting' || event.kind === 'already-running',
  );
  return { outcome: running ? 'running' : 'starting', events };
}
