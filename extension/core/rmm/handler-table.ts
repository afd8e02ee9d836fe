/**
 * Parser for the `smc_handlers[]` table in TF-RMM's `runtime/core/handler.c`, which sets for
 * each RMI command whether the RMM logs every call (`log_exec`) or only failed calls
 * (`log_error`). Three shapes are understood:
 *
 * - v0.1.0 to v0.2.0: `HANDLER_0(_id, _fn, _exec, _error)` .. `HANDLER_5(...)`, ids `SMC_RMM_*`.
 * - v0.3.0 to v0.5.0: `HANDLER(_id, _in, _out, _fn, _exec, _error)`, ids `SMC_RMM_*`.
 * - v0.6.0 and later: the same six arguments, ids `SMC_RMI_*`.
 */

export type HandlerMacro =
  'HANDLER' | 'HANDLER_0' | 'HANDLER_1' | 'HANDLER_2' | 'HANDLER_3' | 'HANDLER_4' | 'HANDLER_5';

export type FidPrefix = 'SMC_RMM_' | 'SMC_RMI_';

/** Zero-based line and UTF-16 character, as VS Code counts them. */
export interface TextPosition {
  line: number;
  character: number;
}

/** Half-open range `[start, end)` of UTF-16 offsets into the parsed text, with positions. */
export interface TextSpan {
  start: number;
  end: number;
  startPosition: TextPosition;
  endPosition: TextPosition;
}

/** One `HANDLER...(...)` entry of the table. */
export interface HandlerEntry {
  /** Command name without `SMC_RMM_`/`SMC_RMI_`, such as `REC_CREATE`. */
  command: string;
  macro: HandlerMacro;
  /** Prefix written before the command in the first argument, if any. */
  prefix?: FidPrefix;
  /** Text inside a designated initializer `[...] =` written before the macro, if any. */
  designator?: string;
  logExec: boolean;
  logError: boolean;
  logExecToken: TextSpan;
  logErrorToken: TextSpan;
  /** From the designator (or the macro name) to the closing parenthesis. */
  range: TextSpan;
}

export interface HandlerTable {
  kind: 'table';
  /** Text that was parsed, which edits are planned against. */
  text: string;
  entries: HandlerEntry[];
  /** From `smc_handlers` to the closing brace of the initializer. */
  range: TextSpan;
  /** Prefix found in an entry, a designator or a `SMC_RMx_##` macro definition, if any. */
  fidPrefix?: FidPrefix;
}

export interface HandlerTableError {
  kind: 'error';
  message: string;
  offset: number;
  position: TextPosition;
}

const MACRO_PATTERN = /^HANDLER(?:_[0-5])?$/;
const COMMAND_PATTERN = /^(SMC_RM[MI]_)?([A-Z][A-Z0-9_]*)$/;

/** Maps UTF-16 offsets to line/character positions. Lines end at `\n`, so CRLF works too. */
export class LineIndex {
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
  }

  positionAt(offset: number): TextPosition {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.lineStarts[middle] ?? 0) <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low, character: offset - (this.lineStarts[low] ?? 0) };
  }

  span(start: number, end: number): TextSpan {
    return { start, end, startPosition: this.positionAt(start), endPosition: this.positionAt(end) };
  }
}

class ParseFailure extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Returns a copy of C source with every comment replaced by spaces, keeping line breaks,
 * so offsets stay the same and the scanner reads no comment text.
 */
function maskComments(text: string): string {
  const out = text.split('');
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') out[i++] = ' ';
    } else if (c === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw new ParseFailure('Unterminated /* comment.', i);
      for (; i < close + 2; i++) if (text[i] !== '\n' && text[i] !== '\r') out[i] = ' ';
    } else if (c === '"' || c === "'") {
      i = skipLiteral(text, i);
    } else {
      i++;
    }
  }
  return out.join('');
}

function skipLiteral(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote && text[i] !== '\n') {
    i += text[i] === '\\' ? 2 : 1;
  }
  // An unterminated literal (such as an apostrophe in an `#error` line) is read as one character.
  return text[i] === quote ? i + 1 : start + 1;
}

/** Parses the `smc_handlers[]` table. Any part it cannot read gives an error, never a partial table. */
export function parseHandlerTable(text: string): HandlerTable | HandlerTableError {
  const lines = new LineIndex(text);
  try {
    return new TableScanner(text, maskComments(text), lines).scan();
  } catch (error) {
    if (!(error instanceof ParseFailure)) throw error;
    return {
      kind: 'error',
      message: error.message,
      offset: error.offset,
      position: lines.positionAt(error.offset),
    };
  }
}

class TableScanner {
  private pos = 0;
  // `#if` blocks opened inside the table and not yet closed, with the offset of the outermost.
  private conditionalDepth = 0;
  private conditionalStart = 0;

  constructor(
    private readonly text: string,
    private readonly code: string,
    private readonly lines: LineIndex,
  ) {}

  scan(): HandlerTable {
    const header = /\bsmc_handlers\s*\[\s*\]\s*=\s*\{/.exec(this.code);
    if (header === null) {
      throw new ParseFailure('Table not found: handler.c has no `smc_handlers[] = {`.', 0);
    }
    this.pos = header.index + header[0].length;

    const entries: HandlerEntry[] = [];
    for (;;) {
      this.skipSpaceAndDirectives();
      if (this.pos >= this.code.length) {
        throw new ParseFailure(
          'Unbalanced braces: `smc_handlers[]` is never closed.',
          header.index,
        );
      }
      const c = this.code[this.pos];
      if (c === '}') {
        if (this.conditionalDepth > 0) {
          throw new ParseFailure(
            'The closing brace of `smc_handlers[]` is inside an #if block, so the table ends ' +
              'differently in each branch; move the #if around whole entries.',
            this.conditionalStart,
          );
        }
        break;
      }
      if (c === ',') {
        this.pos++;
        continue;
      }
      entries.push(this.entry());
    }
    const end = this.pos + 1;

    if (entries.length === 0) {
      throw new ParseFailure('`smc_handlers[]` contains no HANDLER entries.', header.index);
    }
    const shapes = new Set(entries.map((entry) => entry.macro === 'HANDLER'));
    if (shapes.size > 1) {
      throw new ParseFailure(
        '`smc_handlers[]` mixes HANDLER and HANDLER_N entries; expected one macro shape.',
        header.index,
      );
    }
    const table: HandlerTable = {
      kind: 'table',
      text: this.text,
      entries,
      range: this.lines.span(header.index, end),
    };
    const fidPrefix = this.findFidPrefix(entries);
    if (fidPrefix !== undefined) table.fidPrefix = fidPrefix;
    return table;
  }

  private findFidPrefix(entries: HandlerEntry[]): FidPrefix | undefined {
    for (const entry of entries) {
      if (entry.prefix !== undefined) return entry.prefix;
      const designated = /SMC_RM[MI]_/.exec(entry.designator ?? '');
      if (designated !== null) return designated[0] as FidPrefix;
    }
    // The macro definition above the table pastes the prefix, as in `[SMC_RMI_##_id] = {...}`.
    const pasted = /\b(SMC_RM[MI]_)\s*##/.exec(this.code);
    return pasted === null ? undefined : (pasted[1] as FidPrefix);
  }

  /** Skips whitespace and whole preprocessor lines such as `#if`, `#else` and `#endif`. */
  private skipSpaceAndDirectives(): void {
    while (this.pos < this.code.length) {
      const c = this.code[this.pos] ?? '';
      if (/\s/.test(c)) {
        this.pos++;
      } else if (c === '#' && this.isFirstOnLine(this.pos)) {
        this.trackConditional(this.pos);
        while (this.pos < this.code.length && this.code[this.pos] !== '\n') {
          if (
            this.code[this.pos] === '\\' &&
            /^\\\r?\n/.test(this.code.slice(this.pos, this.pos + 3))
          ) {
            this.pos = this.code.indexOf('\n', this.pos);
          }
          this.pos++;
        }
      } else {
        return;
      }
    }
  }

  /** Counts the `#if`, `#ifdef` and `#ifndef` blocks a directive at `offset` opens or closes. */
  private trackConditional(offset: number): void {
    const directive = /^#\s*(\w+)/.exec(this.code.slice(offset, offset + 32))?.[1];
    if (directive === 'if' || directive === 'ifdef' || directive === 'ifndef') {
      if (this.conditionalDepth === 0) this.conditionalStart = offset;
      this.conditionalDepth += 1;
    } else if (directive === 'endif' && this.conditionalDepth > 0) {
      this.conditionalDepth -= 1;
    }
  }

  private isFirstOnLine(offset: number): boolean {
    const lineStart = this.code.lastIndexOf('\n', offset - 1) + 1;
    return this.code.slice(lineStart, offset).trim() === '';
  }

  private entry(): HandlerEntry {
    const start = this.pos;
    let designator: string | undefined;
    if (this.code[this.pos] === '[') {
      const close = this.code.indexOf(']', this.pos);
      const equals = close < 0 ? null : /^\s*=/.exec(this.code.slice(close + 1));
      if (close < 0 || equals === null) {
        throw new ParseFailure(
          'Invalid designated initializer: expected `[ID] = HANDLER(...)`.',
          start,
        );
      }
      designator = this.code.slice(this.pos + 1, close).trim();
      this.pos = close + 1 + equals[0].length;
      this.skipSpaceAndDirectives();
    }

    const macroStart = this.pos;
    const name = /^[A-Za-z_]\w*/.exec(this.code.slice(this.pos))?.[0];
    if (name === undefined) {
      throw new ParseFailure(
        `Unexpected '${this.code[this.pos]}' in smc_handlers[]; expected a HANDLER entry.`,
        this.pos,
      );
    }
    if (!MACRO_PATTERN.test(name)) {
      throw new ParseFailure(
        `Unknown macro '${name}' in smc_handlers[]; expected HANDLER or HANDLER_0..HANDLER_5.`,
        macroStart,
      );
    }
    this.pos += name.length;
    this.skipSpaceAndDirectives();
    if (this.code[this.pos] !== '(') {
      throw new ParseFailure(`Missing '(' after ${name}.`, this.pos);
    }
    const args = this.arguments(macroStart);
    return this.buildEntry(name as HandlerMacro, args, designator, start);
  }

  /**
   * Reads a parenthesised argument list and returns the trimmed span of each argument.
   * NOTE: a preprocessor line inside one entry's parentheses gives an error, because which
   * argument it selects depends on the build.
   */
  private arguments(macroStart: number): { start: number; end: number }[] {
    const args: { start: number; end: number }[] = [];
    let depth = 0;
    let argStart = this.pos + 1;
    for (; this.pos < this.code.length; this.pos++) {
      const c = this.code[this.pos];
      if (c === '(' || c === '{' || c === '[') depth++;
      else if (c === ')' || c === '}' || c === ']') depth--;
      else if (c === '"' || c === "'") this.pos = skipLiteral(this.code, this.pos) - 1;
      else if (c === ';') break;
      else if (c === '#' && this.isFirstOnLine(this.pos)) {
        throw new ParseFailure(
          'A preprocessor line inside a HANDLER entry cannot be edited; move the #if around ' +
            'whole entries.',
          this.pos,
        );
      }

      if (depth === 0 || (depth === 1 && c === ',')) {
        args.push(this.trim(argStart, this.pos));
        argStart = this.pos + 1;
      }
      if (depth === 0) {
        if (c !== ')') break;
        this.pos++;
        return args;
      }
    }
    throw new ParseFailure(
      'Unbalanced parentheses in HANDLER entry: check for a missing or extra parenthesis.',
      macroStart,
    );
  }

  private trim(start: number, end: number): { start: number; end: number } {
    while (start < end && /\s/.test(this.code[start] ?? '')) start++;
    while (end > start && /\s/.test(this.code[end - 1] ?? '')) end--;
    return { start, end };
  }

  private buildEntry(
    macro: HandlerMacro,
    args: { start: number; end: number }[],
    designator: string | undefined,
    start: number,
  ): HandlerEntry {
    const expected = macro === 'HANDLER' ? 6 : 4;
    if (args.length !== expected) {
      throw new ParseFailure(
        `${macro} takes ${expected} arguments but this entry has ${args.length}.`,
        start,
      );
    }
    const [id, exec, error] = [args[0], args[expected - 2], args[expected - 1]];
    if (id === undefined || exec === undefined || error === undefined) {
      throw new ParseFailure(`Invalid ${macro} entry.`, start);
    }

    const idText = this.code.slice(id.start, id.end);
    const idMatch = COMMAND_PATTERN.exec(idText);
    if (idMatch === null) {
      throw new ParseFailure(
        `Invalid command id '${idText}'; expected a name such as REC_CREATE.`,
        id.start,
      );
    }
    const entry: HandlerEntry = {
      command: idMatch[2] ?? '',
      macro,
      logExec: this.boolean(exec, 'log_exec', idText),
      logError: this.boolean(error, 'log_error', idText),
      logExecToken: this.lines.span(exec.start, exec.end),
      logErrorToken: this.lines.span(error.start, error.end),
      range: this.lines.span(start, this.pos),
    };
    if (idMatch[1] !== undefined) entry.prefix = idMatch[1] as FidPrefix;
    if (designator !== undefined) entry.designator = designator;
    return entry;
  }

  private boolean(arg: { start: number; end: number }, field: string, id: string): boolean {
    const value = this.code.slice(arg.start, arg.end);
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new ParseFailure(
      `Invalid ${field} '${value}' for ${id}; only the literals true and false can be edited.`,
      arg.start,
    );
  }
}
