/*
 * A progress line on stderr for long reads: bytes read, lines a second and the time left
 * when the size is known. Only for a person watching — on a terminal; a pipe or a file gets
 * nothing, so a script's stderr holds only real messages. Redrawn at most a few times a
 * second, with a carriage return, and wiped at the end.
 */

const REDRAW_MS = 200;

export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number | undefined;
  readonly #started = performance.now();
  #drawn = 0;
  #shown = false;

  /** `total`: the bytes to read, when every input has a known size. */
  constructor(stream: NodeJS.WriteStream, total: number | undefined) {
    this.#stream = stream;
    this.#total = total;
  }

  /** Whether a progress line belongs on `stream` at all. */
  static wanted(stream: NodeJS.WriteStream): boolean {
    return stream.isTTY === true;
  }

  update(bytes: number, lines: number): void {
    const now = performance.now();
    if (now - this.#drawn < REDRAW_MS) return;
    this.#drawn = now;
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? lines / seconds : 0;
    let text = `${(bytes / 1e6).toFixed(0)} MB read, ${(rate / 1e6).toFixed(2)}M lines/s`;
    const total = this.#total;
    if (total !== undefined && total > 0) {
      const done = Math.min(1, bytes / total);
      const width = 24;
      const filled = Math.round(done * width);
      const left = done > 0 ? (seconds / done) * (1 - done) : Number.NaN;
      text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(done * 100).toFixed(0)}% ${text}${Number.isFinite(left) ? `, ${left.toFixed(0)} s left` : ''}`;
    }
    this.#stream.write(`\r${text}\x1b[K`);
    this.#shown = true;
  }

  done(): void {
    if (this.#shown) this.#stream.write('\r\x1b[K');
  }
}
