// POSIX shell words: quoting argv elements for a command line, and splitting a line the user
// typed into argv elements. Used for lines typed into busybox ash consoles and for values
// written into the stack's shell scripts.

/** Characters that need no quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Matches C0 control characters and DEL, which a console line or a script line cannot carry. */
// eslint-disable-next-line no-control-regex -- control characters are what this matches.
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** An error in a shell line, with the 0-based column where it was found. */
export class ShellWordsError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'ShellWordsError';
  }
}

/**
 * Quotes one argument for a POSIX shell (dash, bash, busybox ash): safe words stay bare,
 * anything else goes in single quotes, with each `'` written as `'\''`.
 */
export function quoteShellWord(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.split("'").join("'\\''")}'`;
}

/**
 * Renders an argv as one line to type into a shell console. Throws a ShellWordsError for an
 * argument with a control character, because a newline or carriage return would end the line
 * early and other control characters are taken by the terminal.
 */
export function renderShellLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new ShellWordsError('The command line has no arguments.', 0);
  let column = 0;
  for (const argument of argv) {
    const bad = CONTROL_CHARACTER.exec(argument);
    if (bad) {
      const code = bad[0].charCodeAt(0).toString(16).padStart(2, '0');
      throw new ShellWordsError(
        `Argument ${JSON.stringify(argument)} contains the control character U+00${code}, ` +
          'which cannot be typed into a console line.',
        column + bad.index,
      );
    }
    column += argument.length + 1;
  }
  const [command, ...rest] = argv;
  return [quoteCommandWord(command), ...rest.map(quoteShellWord)].join(' ');
}

// Words that POSIX shells (and bash) read as syntax, not as a command name, when they come first.
const RESERVED_WORDS = new Set([
  ...['case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'if', 'in', 'then'],
  ...['until', 'while', 'function', 'select', 'time'],
]);

/**
 * Quotes the first word of a command line. A safe word that contains `=` or is a reserved word
 * is quoted too, because in the command position the shell would read it as a variable
 * assignment or as syntax.
 */
function quoteCommandWord(word: string): string {
  if (SAFE_WORD.test(word) && !word.includes('=') && !RESERVED_WORDS.has(word)) return word;
  return `'${word.split("'").join("'\\''")}'`;
}

/**
 * Splits a line into argv elements as a POSIX shell would, without expansions: single quotes,
 * double quotes (with `\` before `"`, `\`, `$` and a backquote) and backslash escapes are
 * honoured. Throws a ShellWordsError for an unterminated quote, a `$` or backquote expansion,
 * a comment, a leading `~`, or an operator (`; & | < > ( )`), because none of these can be
 * kept as plain text.
 */
export function parseShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let index = 0;

  const reject = (what: string, at: number): never => {
    throw new ShellWordsError(
      `${what} at column ${at + 1} of ${JSON.stringify(line)}; quote it with single quotes ` +
        'or write the value itself.',
      at,
    );
  };

  while (index < line.length) {
    const char = line[index];

    if (char === ' ' || char === '\t' || char === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      index += 1;
      continue;
    }

    if (char === "'") {
      const end = line.indexOf("'", index + 1);
      if (end < 0) reject('Unterminated single quote', index);
      word += line.slice(index + 1, end);
      inWord = true;
      index = end + 1;
      continue;
    }

    if (char === '"') {
      const start = index;
      index += 1;
      while (index < line.length && line[index] !== '"') {
        const inner = line[index];
        if (inner === '$' || inner === '`') reject(`Expansion "${inner}"`, index);
        if (inner === '\\' && index + 1 < line.length && '"\\$`\n'.includes(line[index + 1])) {
          if (line[index + 1] !== '\n') word += line[index + 1];
          index += 2;
          continue;
        }
        word += inner;
        index += 1;
      }
      if (index >= line.length) reject('Unterminated double quote', start);
      inWord = true;
      index += 1;
      continue;
    }

    if (char === '\\') {
      if (index + 1 >= line.length) reject('Backslash at the end of the line', index);
      // A backslash-newline joins lines and adds nothing to the word.
      if (line[index + 1] !== '\n') {
        word += line[index + 1];
        inWord = true;
      }
      index += 2;
      continue;
    }

    if (char === '$' || char === '`') reject(`Expansion "${char}"`, index);
    if (';&|<>()'.includes(char)) reject(`Shell operator "${char}"`, index);
    if (char === '#' && !inWord) reject('Comment "#"', index);
    if (char === '~' && !inWord) reject('Tilde expansion "~"', index);

    word += char;
    inWord = true;
    index += 1;
  }

  if (inWord) words.push(word);
  return words;
}
