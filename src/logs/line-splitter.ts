/*
 * Cuts a log's byte chunks into lines without a string per line: each chunk becomes one latin1
 * string (one character per byte, so character and byte offsets agree, and no byte sequence
 * can fail to decode), and a line is a range of it. Only a line that straddles two chunks is
 * copied, into a small buffer of its own. A line ends at `\n`; a `\r` before it is dropped.
 * A line longer than `maxLineBytes` is reported and skipped, never buffered whole, so one
 * runaway line (a binary file, a log without newlines) cannot grow memory.
 */

/** Where the lines go. */
export interface LineSink {
  /** A line at `text[start, end)`, which is also `bytes[start, end)`; `number` counts from 1
   *  within its file. */
  line(text: string, start: number, end: number, bytes: Buffer, number: number): void;
  /** Line `number` was longer than the limit and was skipped. */
  tooLong(number: number): void;
}

/** The longest line read by default: far past any real request line and user agent. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 10;
const CR = 13;

export class LineSplitter {
  readonly #sink: LineSink;
  readonly #max: number;
  /** The start of a line that the last chunk left unfinished. */
  #carry: Buffer | undefined;
  /** Skipping the rest of a line already reported as too long. */
  #dropping = false;
  /** Number of the next line. */
  #number = 1;

  constructor(sink: LineSink, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.#sink = sink;
    this.#max = maxLineBytes;
  }

  /** Lines read so far in this file. */
  get lines(): number {
    return this.#number - 1;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.#carry !== undefined || this.#dropping) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline === -1) {
        if (!this.#dropping) this.#keep(Buffer.concat([this.#carry!, chunk]));
        return;
      }
      if (this.#dropping) {
        this.#dropping = false;
        this.#number++;
      } else {
        const joined = Buffer.concat([this.#carry!, chunk.subarray(0, newline)]);
        this.#carry = undefined;
        this.#emit(joined.toString('latin1'), 0, joined.length, joined);
      }
      pos = newline + 1;
    }
    const text = chunk.toString('latin1');
    const length = text.length;
    for (;;) {
      const newline = text.indexOf('\n', pos);
      if (newline === -1) break;
      this.#emit(text, pos, newline, chunk);
      pos = newline + 1;
    }
    if (pos < length) this.#keep(chunk.subarray(pos));
  }

  /** The file ended: a last line without a newline is still a line. Resets the numbering
   *  for the next file. */
  end(): void {
    const carry = this.#carry;
    this.#carry = undefined;
    if (carry !== undefined) this.#emit(carry.toString('latin1'), 0, carry.length, carry);
    else if (this.#dropping) this.#number++;
    this.#dropping = false;
    this.#number = 1;
  }

  #emit(text: string, start: number, end: number, bytes: Buffer): void {
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    if (end - start > this.#max) this.#sink.tooLong(this.#number);
    else this.#sink.line(text, start, end, bytes, this.#number);
    this.#number++;
  }

  /** Keeps an unfinished line for the next chunk, as a copy so the chunk can go. */
  #keep(part: Buffer): void {
    // One byte of room past the limit: the line's \r, which does not count.
    if (part.length > this.#max + 1) {
      this.#carry = undefined;
      this.#dropping = true;
      this.#sink.tooLong(this.#number);
      return;
    }
    this.#carry = Buffer.from(part);
  }
}
