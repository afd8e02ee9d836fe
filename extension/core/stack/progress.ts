// Parsers of the stack steps' output, fed one line at a time: the line splitter, repo sync
// progress and errors, and boot.sh's output (FVP ports and validate results). The build's
// output has its own parser in build-progress.ts.

import { FvpPortMap } from '../telnet/fvp-ports';

/** `line` ends with `\n`; `update` ends with a lone `\r` (a progress redraw). */
export type LineKind = 'line' | 'update';

const ansiPattern =
  // CSI sequences (colours, erase line), OSC sequences, and two-byte escapes.
  // eslint-disable-next-line no-control-regex
  /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/** Removes ANSI escape sequences, such as colours and repo's erase-line code. */
export function stripAnsi(text: string): string {
  return text.replace(ansiPattern, '');
}

// A line longer than this is passed on in parts, so memory stays bounded.
const maxLineChars = 64 * 1024;

/**
 * Splits a stream of text into lines and `\r`-ended progress updates, without their line ends
 * and ANSI escapes. A chunk may end anywhere, also between `\r` and `\n`. Empty updates, such
 * as the start of repo's `\r` redraws, are skipped.
 */
export class LineSplitter {
  private pending = '';

  constructor(private readonly emit: (line: string, kind: LineKind) => void) {}

  /** Reads one chunk. */
  push(text: string): void {
    const buffer = this.pending + text;
    let start = 0;
    let index = 0;
    for (; index < buffer.length; index += 1) {
      const char = buffer[index];
      if (char === '\n') {
        const end = index > start && buffer[index - 1] === '\r' ? index - 1 : index;
        this.emit(stripAnsi(buffer.slice(start, end)), 'line');
        start = index + 1;
      } else if (char === '\r') {
        // Whether this `\r` ends an update or a `\r\n` line shows only with the next character.
        if (index + 1 === buffer.length) break;
        if (buffer[index + 1] === '\n') continue;
        this.emitUpdate(buffer.slice(start, index));
        start = index + 1;
      }
    }
    this.pending = buffer.slice(start);
    if (this.pending.length > maxLineChars) {
      this.emit(stripAnsi(this.pending), 'line');
      this.pending = '';
    }
  }

  /** Passes on the last line when the stream ends without a line end. */
  end(): void {
    const rest = this.pending.endsWith('\r') ? this.pending.slice(0, -1) : this.pending;
    this.pending = '';
    if (rest !== '') this.emit(stripAnsi(rest), 'line');
  }

  private emitUpdate(text: string): void {
    const line = stripAnsi(text);
    if (line.trim() !== '') this.emit(line, 'update');
  }
}

// ---------------------------------------------------------------------------------------------
// repo sync

/**
 * repo's progress line: `Fetching: 45% (27/60) 1:23 | 4 jobs | 0:12 linux @ linux`, with
 * `[4 jobs]` before the counts in some versions and `Fetching projects:` in older ones. repo
 * prints it only when stderr is a terminal.
 */
export const repoProgressPattern =
  /^\s*((?:Fetching|Checking out|Syncing|Garbage collecting|Updating)[A-Za-z ]*?):\s+(\d+)%\s+(?:\[[^\]]*\]\s+)?\((\d+)[A-Za-z]*\/(\d+)[A-Za-z]*\)(,\s*done)?/;

/** An error line of repo or git: `error: ...`, `error.GitError: ...`, `fatal: ...`. */
export const repoErrorPattern = /^\s*(?:error(?:\.\w+)?|fatal|repo: error):\s*(.*)$/;

/** A phase of repo sync with its progress. */
export interface RepoProgress {
  /** repo's title, such as `Fetching` or `Checking out`. */
  phase: string;
  percent: number;
  done: number;
  total: number;
  /** True for the phase's last line (`, done in 2m3.456s`). */
  finished: boolean;
}

/** An event in one line of repo's output. */
export type RepoEvent =
  | { type: 'progress'; progress: RepoProgress }
  | { type: 'error'; message: string; project?: string }
  | { type: 'success' };

/** Parses one line or update of `repo init` or `repo sync` output. */
export function parseRepoLine(line: string): RepoEvent | undefined {
  const progress = repoProgressPattern.exec(line);
  if (progress) {
    return {
      type: 'progress',
      progress: {
        phase: progress[1],
        percent: Number(progress[2]),
        done: Number(progress[3]),
        total: Number(progress[4]),
        finished: progress[5] !== undefined,
      },
    };
  }
  const error = repoErrorPattern.exec(line);
  if (error) {
    const message = error[1].trim();
    const fetch = /^Cannot (?:fetch|checkout) ([^\s-]\S*)/.exec(message);
    return fetch ? { type: 'error', message, project: fetch[1] } : { type: 'error', message };
  }
  if (/^repo sync has finished successfully\.?$/.test(line.trim())) return { type: 'success' };
  return undefined;
}

/** Follows a repo sync run: its current phase, its errors and the projects that failed. */
export class RepoSyncTracker {
  /** The latest progress, or undefined before the first progress line. */
  progress: RepoProgress | undefined;
  /** Every error line, without its `error:` prefix. */
  readonly errors: string[] = [];
  /** Projects named in `Cannot fetch` lines or listed under `Failing repos`. */
  readonly failedProjects = new Set<string>();
  /** True after repo's success line. */
  succeeded = false;
  private inFailingList = false;

  /** Reads one line or update; returns its event, if any. */
  push(line: string): RepoEvent | undefined {
    if (this.inFailingList) {
      const project = line.trim();
      if (project !== '' && !/\s/.test(project) && !project.includes(':')) {
        this.failedProjects.add(project);
        return undefined;
      }
      this.inFailingList = false;
    }
    if (/^\s*Failing repos\b.*:\s*$/.test(line)) {
      this.inFailingList = true;
      return undefined;
    }

    const event = parseRepoLine(line);
    if (event?.type === 'progress') this.progress = event.progress;
    if (event?.type === 'error') {
      this.errors.push(event.message);
      if (event.project) this.failedProjects.add(event.project);
    }
    if (event?.type === 'success') this.succeeded = true;
    return event;
  }

  /** Returns a one-line account of the failure for the tree, or undefined without errors. */
  failureSummary(): string | undefined {
    if (this.errors.length === 0) return undefined;
    const main = this.errors.find((error) => /Unable to fully sync/i.test(error)) ?? this.errors[0];
    const projects = [...this.failedProjects];
    if (projects.length === 0) return main;
    const shown = projects.slice(0, 5).join(', ') + (projects.length > 5 ? ', …' : '');
    return `${main} (failed: ${shown}); run the download again to resume`;
  }
}

// ---------------------------------------------------------------------------------------------
// Boot

/** A world of the CCA stack as boot.sh's validate mode reports it. */
export type World = 'secure' | 'realm' | 'normal';

/**
 * The UART0 text that shows each world booted, which boot.sh's validate mode looks for:
 * Hafnium (the secure world's SPMC), the RMM (realm world) and buildroot's banner (normal
 * world).
 */
export const worldBootMarkers: Readonly<Record<World, string>> = {
  secure: 'Hafnium initialisation completed',
  realm: 'RMM init end',
  normal: 'Welcome to Buildroot',
};

/**
 * A result line of `boot.sh validate`: `[INFO]: Secure world boot successful`,
 * `[ERROR]: Realm world boot unsuccessful`, `[INFO]: Non-Secure world boot successful`, and
 * the summary `[INFO]: Four world boot successful`. Groups: 1 the world, 2 the outcome.
 */
export const validateResultPattern =
  /^\[(?:INFO|ERROR)\]:\s+(Secure|Realm|Non-Secure|Four) world boot (successful|unsuccessful)\b/i;

/** One world's result from boot.sh validate. */
export interface ValidateResult {
  /** The world, or `all` for the four-world summary. */
  world: World | 'all';
  ok: boolean;
  /** The line the result was read from. */
  line: string;
}

/** Parses one result line of boot.sh validate, else undefined. */
export function parseValidateLine(line: string): ValidateResult | undefined {
  const text = line.trim();
  const match = validateResultPattern.exec(text);
  if (!match) return undefined;
  const names: Record<string, World | 'all'> = {
    secure: 'secure',
    realm: 'realm',
    'non-secure': 'normal',
    four: 'all',
  };
  return {
    world: names[match[1].toLowerCase()],
    ok: match[2].toLowerCase() === 'successful',
    line: text,
  };
}

/** boot.sh's and run_model.sh's error lines: `[ERROR]: ...` and `ERROR: ...`. */
const bootErrorPattern = /^\s*\[?ERROR\]?:\s*(.*)$/;

/** An event in one line of boot.sh output. */
export type BootEvent =
  | { type: 'port'; terminal: string; port: number }
  | { type: 'validate'; result: ValidateResult }
  | { type: 'error'; message: string }
  | { type: 'displayError'; line: string };

/**
 * Follows boot.sh's output: the FVP's telnet ports (through {@link FvpPortMap}), validate's
 * result per world, errors of boot.sh and run_model.sh (such as a MODEL that does not exist),
 * and xterms that cannot open for want of a display.
 */
export class BootTracker {
  readonly ports = new FvpPortMap();
  /** Validate's results by world, with `all` for the summary. */
  readonly results = new Map<World | 'all', ValidateResult>();
  /** boot.sh's error messages, without their `[ERROR]:` prefix. */
  readonly errors: string[] = [];
  displayError: string | undefined;

  /** Reads one line; returns its event, if any. */
  push(line: string): BootEvent | undefined {
    const before = new Map(this.ports.entries().map((entry) => [entry.terminal, entry.port]));
    this.ports.push(`${line}\n`);
    for (const { terminal, port } of this.ports.entries()) {
      if (before.get(terminal) !== port) return { type: 'port', terminal, port };
    }

    if (/can'?t open display|cannot open display|unable to open display/i.test(line)) {
      this.displayError ??= line.trim();
      return { type: 'displayError', line: line.trim() };
    }

    const result = parseValidateLine(line);
    if (result) {
      this.results.set(result.world, result);
      return { type: 'validate', result };
    }

    const error = bootErrorPattern.exec(line);
    if (error) {
      this.errors.push(error[1]);
      return { type: 'error', message: error[1] };
    }
    return undefined;
  }

  /** True when the secure, realm and normal worlds have all reported success. */
  allWorldsBooted(): boolean {
    return (['secure', 'realm', 'normal'] as const).every((world) => this.results.get(world)?.ok);
  }
}
