import { readFile } from 'node:fs/promises';

/**
 * Reads a labels file, one label per line, as label_image does: the whole line is the label, a
 * trailing CR of a CRLF file is removed, and the empty string after a final newline is not a
 * label. Throws an error that names the file when it cannot be read.
 */
export async function readLabels(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Labels file ${file} not found`, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Labels file ${file} could not be read: ${reason}`, { cause: error });
  }
  return splitLabels(text);
}

/** Splits labels text into lines; exported for tests that do not need a file. */
export function splitLabels(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
