/*
 * Counted lines in columns, as the log reader hands them to the engines: typed arrays that
 * a worker thread can transfer without copying, and that go back to it to be refilled. Only
 * what the engines need travels — the client, the log's clock, the route's id and the status;
 * everything the reader can settle alone (routes' peaks, status classes, malformed lines)
 * stays with the reader.
 */

/** Lines per batch: enough that a message per batch costs nothing per line. */
export const BATCH_LINES = 8192;

/** A route the reader met for the first time; later lines name it by `id`. */
export interface NewRoute {
  readonly id: number;
  readonly method: string;
  readonly path: string;
}

/** What crosses between threads: the arrays' buffers and the counts. */
export interface BatchData {
  readonly length: number;
  readonly family: ArrayBuffer;
  readonly words: ArrayBuffer;
  readonly time: ArrayBuffer;
  readonly status: ArrayBuffer;
  readonly route: ArrayBuffer;
  readonly newRoutes: readonly NewRoute[];
}

export class LineBatch {
  length = 0;
  /** 4 or 6. */
  readonly family: Uint8Array;
  /** Four words a line (an IPv4 address in the first). */
  readonly words: Uint32Array;
  /** The log's clock at the line, epoch ms: never less than the line before. */
  readonly time: Float64Array;
  readonly status: Uint16Array;
  readonly route: Int32Array;
  newRoutes: NewRoute[] = [];

  constructor(data?: BatchData) {
    this.family = new Uint8Array(data?.family ?? new ArrayBuffer(BATCH_LINES));
    this.words = new Uint32Array(data?.words ?? new ArrayBuffer(BATCH_LINES * 16));
    this.time = new Float64Array(data?.time ?? new ArrayBuffer(BATCH_LINES * 8));
    this.status = new Uint16Array(data?.status ?? new ArrayBuffer(BATCH_LINES * 2));
    this.route = new Int32Array(data?.route ?? new ArrayBuffer(BATCH_LINES * 4));
    if (data !== undefined) {
      this.length = data.length;
      this.newRoutes = [...data.newRoutes];
    }
  }

  get full(): boolean {
    return this.length === BATCH_LINES;
  }

  /** The batch as a message, and the buffers to transfer with it. */
  data(): [BatchData, ArrayBuffer[]] {
    const buffers = [
      this.family.buffer,
      this.words.buffer,
      this.time.buffer,
      this.status.buffer,
      this.route.buffer,
    ] as ArrayBuffer[];
    const [family, words, time, status, route] = buffers as [
      ArrayBuffer,
      ArrayBuffer,
      ArrayBuffer,
      ArrayBuffer,
      ArrayBuffer,
    ];
    return [
      { length: this.length, family, words, time, status, route, newRoutes: this.newRoutes },
      buffers,
    ];
  }

  /** Empties the batch for reuse. */
  clear(): void {
    this.length = 0;
    this.newRoutes = [];
  }
}
