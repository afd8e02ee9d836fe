import { localRealmFs, type RealmFs } from './realm-fs';

/**
 * States of the signalling file. The normal world writes `query` and `finished`; the realm
 * writes `processed` after each image. The realm binary acts only on `query`.
 */
export type SystemState = 'processed' | 'query' | 'finished';

const knownStates: readonly string[] = ['processed', 'query', 'finished'];

/** Contents of the signalling file; a field is undefined when its line is absent. */
export interface Signalling {
  /** The state when it is one of the known ones. */
  state?: SystemState;
  /** The text after `systemState: `, also for unknown states, for error messages. */
  rawState?: string;
  /** The image path inside the realm; empty when the line has no value. */
  fileName?: string;
}

/**
 * Parses signalling text as the realm binary does: per line, the text after the first `": "`
 * of the `systemState:` and `fileName:` lines. CR line ends and surrounding blanks are ignored;
 * other lines and a later duplicate of a line are ignored.
 */
export function parseSignalling(text: string): Signalling {
  const result: Signalling = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    const separator = line.indexOf(': ');
    const key = (separator >= 0 ? line.slice(0, separator) : line.replace(/:$/, '')).trim();
    const value = separator >= 0 ? line.slice(separator + 2).trim() : '';
    if (key === 'systemState' && result.rawState === undefined) {
      result.rawState = value;
      if (knownStates.includes(value)) result.state = value as SystemState;
    } else if (key === 'fileName' && result.fileName === undefined) {
      result.fileName = value;
    }
  }
  return result;
}

/** Formats the signalling file's lines, one `key: value` per line with a single space. */
export function formatSignalling(state: SystemState, fileName?: string): string {
  const lines = [`systemState: ${state}`];
  if (fileName !== undefined) lines.push(`fileName: ${fileName}`);
  return lines.join('\n') + '\n';
}

/** Reads and parses the signalling file; returns undefined when it does not exist. */
export async function readSignalling(
  file: string,
  fs: RealmFs = localRealmFs,
): Promise<Signalling | undefined> {
  const bytes = await fs.readFile(file);
  return bytes === undefined ? undefined : parseSignalling(bytes.toString('utf8'));
}

/** Replaces the signalling file atomically, so that the other side never reads half a state. */
export async function writeSignalling(
  file: string,
  state: SystemState,
  fileName?: string,
  fs: RealmFs = localRealmFs,
): Promise<void> {
  if (fileName !== undefined && /[\r\n]/.test(fileName)) {
    throw new Error(`Image path ${JSON.stringify(fileName)} contains a line break`);
  }
  await fs.writeFileAtomic(file, formatSignalling(state, fileName));
}
