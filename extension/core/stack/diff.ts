// A line-based unified diff, for previewing the product's changes to the stack's scripts.

/** Labels and context size of a unified diff. */
export interface UnifiedDiffOptions {
  /** The name on the `---` line, usually `a/<relative path>`. */
  oldLabel: string;
  /** The name on the `+++` line, usually `b/<relative path>`. */
  newLabel: string;
  /** Unchanged lines shown around each change; 3 by default, as in `diff -u`. */
  context?: number;
}

type Operation = { type: ' ' | '-' | '+'; line: string; oldIndex: number; newIndex: number };

// Above this many cells the middle part is shown as one replaced block instead of a minimal
// diff, so that a preview of two unrelated large files stays fast.
const MAX_TABLE_CELLS = 4_000_000;

/**
 * Splits text into lines that keep their line ends, so that a change of line end alone is a
 * change. A last line without a line end is marked by the missing `\n`.
 */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/(?<=\n)/);
  return lines;
}

function displayLine(line: string): string {
  return line.replace(/\r?\n$/, '');
}

/** Computes edit operations with a longest-common-subsequence table over the changed middle. */
function operations(oldLines: string[], newLines: string[]): Operation[] {
  let prefix = 0;
  while (
    prefix < oldLines.length &&
    prefix < newLines.length &&
    oldLines[prefix] === newLines[prefix]
  ) {
    prefix += 1;
  }
  let suffix = 0;
  while (
    suffix < oldLines.length - prefix &&
    suffix < newLines.length - prefix &&
    oldLines[oldLines.length - 1 - suffix] === newLines[newLines.length - 1 - suffix]
  ) {
    suffix += 1;
  }

  const result: Operation[] = [];
  for (let index = 0; index < prefix; index += 1) {
    result.push({ type: ' ', line: oldLines[index], oldIndex: index, newIndex: index });
  }

  const oldMiddle = oldLines.slice(prefix, oldLines.length - suffix);
  const newMiddle = newLines.slice(prefix, newLines.length - suffix);
  result.push(...middleOperations(oldMiddle, newMiddle, prefix));

  for (let index = suffix; index > 0; index -= 1) {
    const oldIndex = oldLines.length - index;
    const newIndex = newLines.length - index;
    result.push({ type: ' ', line: oldLines[oldIndex], oldIndex, newIndex });
  }
  return result;
}

function middleOperations(oldLines: string[], newLines: string[], offset: number): Operation[] {
  const rows = oldLines.length;
  const columns = newLines.length;
  const result: Operation[] = [];

  if ((rows + 1) * (columns + 1) > MAX_TABLE_CELLS) {
    oldLines.forEach((line, index) =>
      result.push({ type: '-', line, oldIndex: offset + index, newIndex: offset }),
    );
    newLines.forEach((line, index) =>
      result.push({ type: '+', line, oldIndex: offset + rows, newIndex: offset + index }),
    );
    return result;
  }

  // lengths[i][j]: the longest common subsequence of oldLines[i..] and newLines[j..].
  const lengths = Array.from({ length: rows + 1 }, () => new Uint32Array(columns + 1));
  for (let i = rows - 1; i >= 0; i -= 1) {
    for (let j = columns - 1; j >= 0; j -= 1) {
      lengths[i][j] =
        oldLines[i] === newLines[j]
          ? lengths[i + 1][j + 1] + 1
          : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }

  let i = 0;
  let j = 0;
  while (i < rows || j < columns) {
    if (i < rows && j < columns && oldLines[i] === newLines[j]) {
      result.push({ type: ' ', line: oldLines[i], oldIndex: offset + i, newIndex: offset + j });
      i += 1;
      j += 1;
    } else if (i < rows && (j === columns || lengths[i + 1][j] >= lengths[i][j + 1])) {
      // Deletions go before insertions, as in diff -u.
      result.push({ type: '-', line: oldLines[i], oldIndex: offset + i, newIndex: offset + j });
      i += 1;
    } else {
      result.push({ type: '+', line: newLines[j], oldIndex: offset + i, newIndex: offset + j });
      j += 1;
    }
  }
  return result;
}

function hunkRange(start: number, count: number): string {
  // diff -u writes an empty range as the line before it, and omits a count of 1.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? String(first) : `${first},${count}`;
}

/**
 * Returns a unified diff of two texts (the format of `diff -u` and `git diff`), or an empty
 * string when they are equal. Line-end changes show as changed lines, and a last line without
 * a line end is followed by `\ No newline at end of file`.
 */
export function unifiedDiff(oldText: string, newText: string, options: UnifiedDiffOptions): string {
  if (oldText === newText) return '';
  const context = options.context ?? 3;
  const ops = operations(splitLines(oldText), splitLines(newText));

  // Group changes whose context overlaps into hunks.
  const hunks: { start: number; end: number }[] = [];
  ops.forEach((op, index) => {
    if (op.type === ' ') return;
    const start = Math.max(0, index - context);
    const end = Math.min(ops.length, index + context + 1);
    const last = hunks.at(-1);
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else hunks.push({ start, end });
  });

  const output = [`--- ${options.oldLabel}`, `+++ ${options.newLabel}`];
  for (const hunk of hunks) {
    const slice = ops.slice(hunk.start, hunk.end);
    const oldCount = slice.filter((op) => op.type !== '+').length;
    const newCount = slice.filter((op) => op.type !== '-').length;
    const first = slice[0];
    output.push(
      `@@ -${hunkRange(first.oldIndex, oldCount)} +${hunkRange(first.newIndex, newCount)} @@`,
    );
    for (const op of slice) {
      output.push(`${op.type}${displayLine(op.line)}`);
      if (!op.line.endsWith('\n')) output.push('\\ No newline at end of file');
    }
  }
  return `${output.join('\n')}\n`;
}
