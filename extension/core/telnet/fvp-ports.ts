// The FVP serves each UART on a telnet port. It tries 5000 upwards and takes the next free port
// when one is busy, then prints the port it took on its stdout, for example
// `terminal_0: Listening for serial connection on port 5000`. Tools that multiplex the FVP's
// output, such as Shrinkwrap, put a prefix before that text, so it is searched for anywhere in
// the line.

/** A terminal's port, as read from one line of FVP output. */
export interface FvpPort {
  /** The terminal's name in the model, such as `terminal_0`. */
  terminal: string;
  port: number;
}

const portMarker = ': Listening for serial connection on port ';
const nameCharacter = /[\w.]/;
const nameStart = /[A-Za-z_]/;
const portNumber = /(\d+)\b/y;

/**
 * Parses a `terminal_N: Listening for serial connection on port P` line, else undefined. The
 * terminal name is the run of word characters and dots before the colon, from its first letter
 * or underscore. The line is searched for the fixed text first, because a pattern that tries a
 * name at every character takes time quadratic in the length of a long line.
 */
export function parseFvpPortLine(line: string): FvpPort | undefined {
  for (let at = line.indexOf(portMarker); at >= 0; at = line.indexOf(portMarker, at + 1)) {
    let start = at;
    while (start > 0 && nameCharacter.test(line[start - 1])) start -= 1;
    while (start < at && !nameStart.test(line[start])) start += 1;
    if (start === at) continue;

    portNumber.lastIndex = at + portMarker.length;
    const match = portNumber.exec(line);
    if (!match) continue;
    const port = Number(match[1]);
    if (port < 1 || port > 65535) return undefined;
    return { terminal: line.slice(start, at), port };
  }
  return undefined;
}

// A line longer than this cannot be a port line. Only its end is kept, so memory stays bounded
// when the FVP prints a long run without a newline.
const maxPendingChars = 4096;

/**
 * The ports of an FVP's terminals, read from its stdout as it arrives. Chunks may end inside a
 * line; a line counts once its newline arrives.
 */
export class FvpPortMap {
  private readonly ports = new Map<string, number>();
  private readonly listeners = new Set<(terminal: string, port: number) => void>();
  private pending = '';

  /** Reads one chunk of FVP stdout. */
  push(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > maxPendingChars) this.pending = this.pending.slice(-maxPendingChars);
    for (const line of lines) this.readLine(line);
  }

  /** Returns the terminal's port, or undefined until the FVP has printed it. */
  get(terminal: string): number | undefined {
    return this.ports.get(terminal);
  }

  /** Returns every terminal seen so far with its port. */
  entries(): FvpPort[] {
    return [...this.ports].map(([terminal, port]) => ({ terminal, port }));
  }

  /** Forgets every port and any partial line, for a new FVP run. */
  clear(): void {
    this.ports.clear();
    this.pending = '';
  }

  /** Calls `listener` when a terminal's port is first seen or changes. */
  onChange(listener: (terminal: string, port: number) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private readLine(line: string): void {
    const parsed = parseFvpPortLine(line);
    if (!parsed || this.ports.get(parsed.terminal) === parsed.port) return;
    this.ports.set(parsed.terminal, parsed.port);
    for (const listener of [...this.listeners]) listener(parsed.terminal, parsed.port);
  }
}
