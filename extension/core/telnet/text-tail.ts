/**
 * The last `limit` UTF-16 code units of a text that grows by appends, such as a console's
 * scrollback. Appends are kept as a list, older ones are dropped whole once the rest covers the
 * limit, and the list is joined only when the text is read. So an append costs time in
 * proportion to its own length. Slicing the whole kept text on every append instead copies it
 * each time: 9 MB/s for the 2,000,000-character scrollback in bench/console-throughput.mjs.
 */
export class TextTail {
  private chunks: string[] = [];
  /** Index of the first chunk still kept. The chunks before it are dropped. */
  private head = 0;
  private length = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`invalid limit ${limit}: expected an integer >= 1`);
    }
  }

  /** Appends `text` at the end of the kept text. */
  append(text: string): void {
    if (text === '') return;
    const last = this.chunks.length - 1;
    // Short appends (a keystroke's echo) join the last chunk, so the list stays short.
    if (last >= this.head && (this.chunks[last] ?? '').length < 1024) {
      this.chunks[last] += text;
    } else {
      this.chunks.push(text);
    }
    this.length += text.length;

    for (;;) {
      const first = this.chunks[this.head] ?? '';
      if (this.length - first.length < this.limit) break;
      this.length -= first.length;
      this.chunks[this.head] = '';
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Returns the kept text: the last `limit` code units appended. */
  text(): string {
    const joined = this.chunks.slice(this.head).join('');
    const kept = joined.length > this.limit ? joined.slice(-this.limit) : joined;
    this.chunks = kept === '' ? [] : [kept];
    this.head = 0;
    this.length = kept.length;
    return kept;
  }
}
