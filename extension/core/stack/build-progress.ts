// The build's output, fed one line at a time: which component command runs, how far the
// whole-stack build is, and compiler, make and CMake errors with their files made absolute.

import path from 'node:path';

/**
 * A GCC or Clang diagnostic, `file:line:col: error: message`. Groups: 1 file, 2 line,
 * 3 column, 4 severity (`error` or `warning`), 5 message. A VS Code problem matcher can use
 * it as is ({@link compilerProblemPattern}).
 */
export const compilerDiagnosticPattern =
  /^(.+?):(\d+):(\d+):\s+(?:fatal\s+)?(error|warning):\s+(.*)$/;

/**
 * A make error, `make[2]: *** [Makefile:123: build/foo.o] Error 1` or
 * `make: *** No rule to make target 'x'.  Stop.`. Groups: 1 the make file (when named),
 * 2 its line, 3 the message.
 */
export const makeErrorPattern = /^\s*make(?:\[\d+\])?: \*\*\* (?:\[(.+?):(\d+):[^\]]*\] )?(.*)$/;

/** A CMake error, `CMake Error at CMakeLists.txt:12 (project):`. Groups: 1 file, 2 line. */
export const cmakeErrorPattern = /^CMake Error(?: at (.+?):(\d+)\s*(?:\([^)]*\))?)?:?\s*(.*)$/;

/** make's directory changes, `make[1]: Entering directory '/path'`. */
const makeDirectoryPattern = /^\s*make(?:\[\d+\])?: (Entering|Leaving) directory ['`](.+)'$/;

/** The compiler pattern in the shape of a VS Code problem matcher's `pattern`. */
export const compilerProblemPattern = {
  regexp: compilerDiagnosticPattern.source,
  file: 1,
  line: 2,
  column: 3,
  severity: 4,
  message: 5,
} as const;

/** A compiler, make or CMake error or warning, with the file made absolute where possible. */
export interface BuildDiagnostic {
  severity: 'error' | 'warning';
  /** Absolute when make's current directory was known or the path was absolute. */
  file?: string;
  line?: number;
  column?: number;
  message: string;
  /** The remedy for a known failure. */
  hint?: string;
  /** The component being built, as far as known. */
  component?: string;
}

/** An event in one line of build output. */
export type BuildEvent =
  | { type: 'step'; component: string; command: string; phase: 'started' | 'finished' | 'failed' }
  | { type: 'diagnostic'; diagnostic: BuildDiagnostic };

/**
 * The whole-stack build's banner around each component command:
 * `Execute build for build-rmm.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]`, the same with
 * ` done.` at the end, or `Command failed: build for build-rmm.sh on ...`. Groups: 1 `Command
 * failed: ` when failed, 2 the command, 3 the component, 4 ` done.` when finished.
 */
export const buildBannerPattern =
  /^(Command failed: |Execute )(\w+) for build-([\w-]+)\.sh on \S*?( done\.)?\s*$/;

/** The line build-linux.sh's kernel patch prints when a second build applies it again. */
const repeatedPatchPattern = /^error: patch failed: |^error: .*: patch does not apply$/;

/** The run a {@link BuildTracker} follows, for its progress. */
export interface BuildPlan {
  /** The component scripts the whole-stack build runs (BUILD_SCRIPTS). */
  components: readonly string[];
  /** The whole-stack command; `all` runs clean, prepare and build per component, then package. */
  command: string;
}

/**
 * Follows build output: which component command runs, and the errors, with relative compiler
 * paths resolved against make's current directory.
 */
export class BuildTracker {
  /** The component whose command runs now, such as `rmm`. */
  component: string | undefined;
  /** The command it runs, such as `build`. */
  command: string | undefined;
  /** How many component commands have finished. */
  finishedSteps = 0;
  readonly diagnostics: BuildDiagnostic[] = [];
  private readonly directories: string[] = [];

  /**
   * @param stackRoot The stack folder, the build's working folder.
   * @param plan The whole-stack run, for {@link percent}.
   */
  constructor(
    private readonly stackRoot: string,
    private readonly plan?: BuildPlan,
  ) {}

  /** Reads one line; returns its event, if any. */
  push(line: string): BuildEvent | undefined {
    const directory = makeDirectoryPattern.exec(line);
    if (directory) {
      if (directory[1] === 'Entering') this.directories.push(directory[2]);
      else this.directories.pop();
      return undefined;
    }

    const banner = buildBannerPattern.exec(line);
    if (banner) return this.readBanner(banner);

    const diagnostic = this.parseDiagnostic(line);
    if (!diagnostic) return undefined;
    this.diagnostics.push(diagnostic);
    return { type: 'diagnostic', diagnostic };
  }

  /** Returns the share of component commands finished, 0 to 100, or undefined without a plan. */
  percent(): number | undefined {
    if (!this.plan || this.plan.components.length === 0) return undefined;
    const perComponent = this.plan.command === 'all' ? 4 : 1;
    const total = this.plan.components.length * perComponent;
    return Math.min(100, Math.round((100 * this.finishedSteps) / total));
  }

  /** Returns the first error, as a line for the tree. */
  firstError(): string | undefined {
    const error = this.diagnostics.find((d) => d.severity === 'error');
    if (!error) return undefined;
    const where = error.file ? `${error.file}${error.line ? `:${error.line}` : ''}: ` : '';
    return `${where}${error.message}${error.hint ? ` (${error.hint})` : ''}`;
  }

  private readBanner(banner: RegExpExecArray): BuildEvent {
    const [, prefix, command, component, done] = banner;
    if (prefix.startsWith('Command failed')) {
      const diagnostic: BuildDiagnostic = {
        severity: 'error',
        message: `${command} of ${component} failed`,
        component,
      };
      this.diagnostics.push(diagnostic);
      return { type: 'step', component, command, phase: 'failed' };
    }
    if (done) {
      this.finishedSteps += 1;
      return { type: 'step', component, command, phase: 'finished' };
    }
    this.component = component;
    this.command = command;
    this.directories.length = 0;
    return { type: 'step', component, command, phase: 'started' };
  }

  private parseDiagnostic(line: string): BuildDiagnostic | undefined {
    const component = this.component;
    const compiler = compilerDiagnosticPattern.exec(line);
    if (compiler) {
      return {
        severity: compiler[4] as 'error' | 'warning',
        file: this.resolve(compiler[1]),
        line: Number(compiler[2]),
        column: Number(compiler[3]),
        message: compiler[5],
        component,
      };
    }
    const make = makeErrorPattern.exec(line);
    if (make) {
      const file = make[1] ? this.resolve(make[1]) : undefined;
      const lineNumber = make[2] ? Number(make[2]) : undefined;
      return { severity: 'error', file, line: lineNumber, message: make[3], component };
    }
    const cmake = cmakeErrorPattern.exec(line);
    if (cmake) {
      const file = cmake[1] ? this.resolve(cmake[1]) : undefined;
      const lineNumber = cmake[2] ? Number(cmake[2]) : undefined;
      const message = cmake[3] || 'CMake Error';
      return { severity: 'error', file, line: lineNumber, message, component };
    }
    if (repeatedPatchPattern.test(line)) {
      return {
        severity: 'error',
        message: line.replace(/^error:\s*/, ''),
        hint:
          'the kernel command-line patch is already applied from an earlier build; apply the ' +
          'modifications, which remove that git apply line from build-linux.sh',
        component,
      };
    }
    return undefined;
  }

  private resolve(file: string): string {
    if (path.isAbsolute(file)) return file;
    const base = this.directories.at(-1) ?? this.stackRoot;
    return path.resolve(base, file);
  }
}
