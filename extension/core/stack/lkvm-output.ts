// Recognisers for what `lkvm run --realm` and the booting realm print on the normal-world
// console: known lkvm failures with an explanation, the guest name, and the login prompt.
// NOTE: the /dev/kvm and out-of-memory patterns follow kvmtool's message formats but were not
// checked against a CCA kvmtool on a real FVP; an unknown "Fatal:"/"Error:" line still ends
// up as `lkvm-error`.

/** Meaning of a line of lkvm or realm output. */
export type LkvmOutputKind =
  | 'started'
  | 'login-prompt'
  | 'unknown-option-realm'
  | 'unknown-option'
  | 'lkvm-not-found'
  | 'kvm-missing'
  | 'out-of-memory'
  | 'file-not-found'
  | 'kernel-panic'
  | 'lkvm-error';

/** A recognised line of lkvm or realm console output. */
export interface LkvmOutputEvent {
  kind: LkvmOutputKind;
  /** `error` for a realm that did not start or stopped, `info` otherwise. */
  severity: 'info' | 'error';
  /** The line, without escape sequences and line ends. */
  line: string;
  /** The 0-based index of the line in the text given to recogniseLkvmOutput. */
  lineIndex: number;
  /** Explanation for the user, with what to do next. */
  message: string;
  /** The option lkvm did not know, for `unknown-option` and `unknown-option-realm`. */
  option?: string;
  /** The file lkvm could not open, for `file-not-found`. */
  path?: string;
  /** Role of that file, for `file-not-found`. */
  fileRole?: 'kernel' | 'initrd' | 'disk' | 'ninep-folder';
  /** The guest name lkvm chose (`--name`), for `started`. */
  guestName?: string;
}

type LineEvent = Omit<LkvmOutputEvent, 'lineIndex'>;

// Terminal escape sequences (CSI and OSC) that consoles put around prompts and colours.
// eslint-disable-next-line no-control-regex -- the escape character is what this matches.
const ESCAPE_SEQUENCE = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

/** Removes terminal escape sequences and carriage returns from console text. */
export function cleanConsoleLine(line: string): string {
  return line.replace(ESCAPE_SEQUENCE, '').replace(/\r/g, '');
}

const PATH_IN_LINE = /(\/[^\s'"`:]+)/;
const LKVM_MESSAGE = /^\s*(?:Fatal|Error):|\blkvm\b/;
const OPEN_FAILED = new RegExp(
  [
    'unable to open',
    'could not open',
    'cannot open',
    'failed to open',
    'no such file',
    'not found',
    'loading .* failed',
  ].join('|'),
  'i',
);
const KVM_OPEN_FAILED = new RegExp(
  [
    'not found',
    'not available',
    'could not open',
    'unable to open',
    'no such file',
    'permission denied',
    'failed',
  ].join('|'),
  'i',
);
// kvmtool's message when it cannot map guest memory, and the Linux OOM killer's lines.
const OUT_OF_MEMORY = new RegExp(
  [
    'Failed to map .*guest memory',
    'Cannot allocate memory',
    'Out of memory',
    'oom-kill',
    'invoked oom-killer',
  ].join('|'),
  'i',
);

/** Recognises one line of output after `lkvm run --realm`; undefined for other lines. */
export function recogniseLkvmLine(rawLine: string): LineEvent | undefined {
  const line = cleanConsoleLine(rawLine).trimEnd();

  // kvmtool's option parser prints "unknown option `x'" (older) or "unknown option 'x'".
  const unknown = /unknown (option|switch) [`']([^'`\s]+)'/.exec(line);
  if (unknown) {
    const option = unknown[1] === 'switch' ? `-${unknown[2]}` : `--${unknown[2]}`;
    if (unknown[2] === 'realm') {
      return {
        kind: 'unknown-option-realm',
        severity: 'error',
        line,
        option,
        message:
          'This lkvm does not know --realm: it is a kvmtool without the Arm CCA patches. Build ' +
          "the host root file system with the stack's kvmtool/ sources (the buildroot step " +
          'does), ' +
          'then boot the new host-fs.ext4.',
      };
    }
    return {
      kind: 'unknown-option',
      severity: 'error',
      line,
      option,
      message: `lkvm does not know the option ${option}; remove it from the realm profile.`,
    };
  }

  if (/\blkvm: (?:command )?not found/.test(line)) {
    return {
      kind: 'lkvm-not-found',
      severity: 'error',
      line,
      message:
        'The normal world has no lkvm on its PATH. Boot a host-fs.ext4 built with kvmtool ' +
        '(the buildroot step enables it).',
    };
  }

  if (/\/dev\/kvm/.test(line) && KVM_OPEN_FAILED.test(line)) {
    return {
      kind: 'kvm-missing',
      severity: 'error',
      line,
      message:
        'KVM is not available in the normal world (/dev/kvm cannot be opened). Boot the stack ' +
        'with its own kernel Image, which has KVM and realm support, and log in as root.',
    };
  }

  if (OUT_OF_MEMORY.test(line)) {
    return {
      kind: 'out-of-memory',
      severity: 'error',
      line,
      message:
        "The normal world has too little free memory for the realm. Lower the realm profile's " +
        'memory (-m), or stop other realms first.',
    };
  }

  // Only lkvm's own messages (kvmtool prefixes them "Fatal:" or "Error:"), so that a realm
  // kernel line that mentions a kernel module is not taken for a missing kernel image.
  const fileRole = /\b(kernel|initrd|disk)\b/i.exec(line);
  if (fileRole && LKVM_MESSAGE.test(line) && OPEN_FAILED.test(line)) {
    const role = fileRole[1].toLowerCase() as 'kernel' | 'initrd' | 'disk';
    const filePath = PATH_IN_LINE.exec(line)?.[1];
    return {
      kind: 'file-not-found',
      severity: 'error',
      line,
      fileRole: role,
      ...(filePath === undefined ? {} : { path: filePath }),
      message:
        `lkvm could not open the realm's ${role}${filePath ? ` ${filePath}` : ''}. Check the ` +
        "realm profile's path; the buildroot step puts Image, realm-fs.cpio and realm-fs.ext4 " +
        'in /realm/ of the normal world.',
    };
  }

  if (/Failed resolving 9p path/.test(line)) {
    return {
      kind: 'file-not-found',
      severity: 'error',
      line,
      fileRole: 'ninep-folder',
      message:
        "lkvm could not find the realm profile's 9p folder in the normal world. Create it " +
        '(mkdir -p) before starting the realm, or correct the folder in the profile.',
    };
  }

  if (/Kernel panic - not syncing/.test(line)) {
    return {
      kind: 'kernel-panic',
      severity: 'error',
      line,
      message:
        'The realm kernel panicked. Check that the initrd or disk contains a root file system ' +
        "and that the realm's memory is large enough.",
    };
  }

  const started = /#\s*lkvm run\b.*?--name\s+(\S+)/.exec(line);
  if (started) {
    return {
      kind: 'started',
      severity: 'info',
      line,
      guestName: started[1],
      message: `lkvm started the realm as ${started[1]}.`,
    };
  }

  if (/\blogin:\s*$/.test(line)) {
    return {
      kind: 'login-prompt',
      severity: 'info',
      line,
      message: 'The realm booted to its login prompt.',
    };
  }

  const failure = /^\s*(?:Fatal|Error):\s*(.*)$/.exec(line);
  if (failure) {
    return {
      kind: 'lkvm-error',
      severity: 'error',
      line,
      message: `lkvm failed: ${failure[1]}`,
    };
  }
  return undefined;
}

/** Recognises every line of console text (lines end with LF or CRLF). */
export function recogniseLkvmOutput(text: string): LkvmOutputEvent[] {
  const events: LkvmOutputEvent[] = [];
  text.split('\n').forEach((line, lineIndex) => {
    const event = recogniseLkvmLine(line);
    if (event) events.push({ ...event, lineIndex });
  });
  return events;
}

/** State of a realm launch after some console output. */
export interface LkvmLaunchSummary {
  /** `failed` after any error, `login` at the realm's login prompt, `started` once lkvm runs. */
  outcome: 'failed' | 'login' | 'started' | 'unknown';
  /** The first error, for `failed`. */
  error?: LkvmOutputEvent;
  /** The guest name lkvm chose, when it printed one. */
  guestName?: string;
  events: LkvmOutputEvent[];
}

/** Summarises the console output that followed `lkvm run --realm`. */
export function summariseLkvmOutput(text: string): LkvmLaunchSummary {
  const events = recogniseLkvmOutput(text);
  const error = events.find((event) => event.severity === 'error');
  const guestName = events.find((event) => event.kind === 'started')?.guestName;
  const summary: LkvmLaunchSummary = { outcome: 'unknown', events };
  if (guestName !== undefined) summary.guestName = guestName;
  if (error) {
    summary.outcome = 'failed';
    summary.error = error;
  } else if (events.some((event) => event.kind === 'login-prompt')) {
    summary.outcome = 'login';
  } else if (guestName !== undefined) {
    summary.outcome = 'started';
  }
  return summary;
}
