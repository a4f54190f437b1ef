import { LogReadError } from '../errors.js';
import { IpTracker, type TopEntry } from '../tracker/ip-tracker.js';
import { looksCombined, parseCombined, parseCommon } from './clf.js';
import { type JsonField, jsonLineParser } from './jsonl.js';
import { LineBatch, type NewRoute } from './line-batch.js';
import { LineSplitter } from './line-splitter.js';
import { type LogInput, logChunks } from './log-input.js';
import { type LineParser, LogLine, type MalformedReason } from './log-line.js';
import { RouteTable } from './route-table.js';

/*
 * The reading half of `hitwarden analyze`: the logs read in order as one stream, each cut
 * into lines, each line parsed by its file's format. What needs nothing but the lines is
 * settled here — the log's clock, the `--since`/`--until` filter, the top clients (an
 * IpTracker fed the parsed words), routes with their peaks, status classes, malformed lines
 * — and the counted lines go out in batches to the bans replays, on this thread or on
 * another (read-worker.ts).
 *
 * A malformed line is counted and the run goes on; a file that cannot be read to its end (a
 * gzip stream cut short) keeps what was read and the run goes on with the next file.
 *
 * Time is the log's: the clock is the latest timestamp counted so far, so a line written a
 * little out of order (nginx stamps a request when it ends) is taken at the latest time and
 * windows never run backwards.
 */

export type LogFormat = 'auto' | 'combined' | 'common' | 'jsonl';

export interface ReaderOptions {
  readonly format: LogFormat;
  /** Clients in the top list. */
  readonly top: number;
  /** Whether counted lines go out in batches (for the bans replays); without, the reader
   *  settles everything alone and hands out nothing. */
  readonly batches: boolean;
  readonly jsonFields: Readonly<Record<JsonField, readonly string[]>>;
  /** Windows for the routes' peaks, in seconds. */
  readonly windows: readonly number[];
  /** Lines before `since` (epoch ms, inclusive) or from `until` on are skipped. */
  readonly since?: number;
  readonly until?: number;
  /** Malformed lines reported by number (all are counted). @default 10 */
  readonly malformedShown?: number;
  readonly maxRoutes?: number;
  readonly maxLineBytes?: number;
}

export interface MalformedLine {
  readonly file: string;
  readonly line: number;
  readonly reason: MalformedReason;
}

export interface RouteReport {
  readonly method: string;
  readonly path: string;
  readonly count: number;
  /** Most hits within each window, by the window's seconds. */
  readonly peaks: Readonly<Record<string, number>>;
}

/** What the reader learnt on its own. Plain data: it crosses from a worker as it is. */
export interface ReaderSummary {
  readonly files: readonly string[];
  /** Lines read, malformed and skipped ones included. */
  readonly lines: number;
  /** Lines counted. */
  readonly parsed: number;
  /** Well-formed lines outside `--since`/`--until`. */
  readonly skipped: number;
  /** Log time of the first and last counted line (epoch ms), null when none was. */
  readonly firstTime: number | null;
  readonly lastTime: number | null;
  readonly malformed: {
    readonly count: number;
    readonly byReason: Readonly<Record<string, number>>;
    readonly first: readonly MalformedLine[];
  };
  /** Files that could not be read to their end: what was read of them is counted. */
  readonly readErrors: readonly { readonly file: string; readonly message: string }[];
  /** Every route, most hits first. */
  readonly routes: readonly RouteReport[];
  readonly windows: readonly number[];
  readonly status: Readonly<Record<string, number>>;
  readonly distinctClients: number;
  /** The top clients: count descending, ties by address (IPv4 before IPv6). */
  readonly top: readonly TopEntry[];
}

/** Where counted lines go; a promise holds the reader back until the batch is taken. */
export type BatchSink = (batch: LineBatch) => void | Promise<void>;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Picks a format from a file's first line: `{` is JSON lines; else combined when the line
 *  has the two quoted fields after the size, common otherwise. */
export function detectFormat(text: string, start: number, end: number): Exclude<LogFormat, 'auto'> {
  let i = start;
  while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  if (text.charCodeAt(i) === 123) return 'jsonl';
  const probe = new LogLine();
  if (looksCombined(text, start, end, probe)) return 'combined';
  return parseCommon(text, start, end, Buffer.alloc(0), probe) === undefined
    ? 'common'
    : 'combined';
}

export class LogReader {
  readonly #options: ReaderOptions;
  readonly #sink: BatchSink;
  readonly #routes: RouteTable;
  readonly #tracker: IpTracker;
  readonly #batches: boolean;
  readonly #line = new LogLine();
  readonly #parsers: Record<Exclude<LogFormat, 'auto'>, LineParser>;
  readonly #since: number;
  readonly #until: number;
  /** Lines per status class, by hundreds (index 1 = 1xx … 9 = 9xx). */
  readonly #classes = new Float64Array(10);
  readonly #malformed: MalformedLine[] = [];
  readonly #byReason = new Map<MalformedReason, number>();
  readonly #readErrors: { file: string; message: string }[] = [];
  readonly #files: string[] = [];
  /** Batches free to fill, handed back by the sink's owner. */
  readonly #free: LineBatch[] = [];
  #batch: LineBatch;
  /** Batches filled while the sink still held the last one. */
  readonly #ready: LineBatch[] = [];
  #file = '';
  #parser: LineParser | undefined;
  #now = Number.NEGATIVE_INFINITY;
  #first = Number.NaN;
  #lines = 0;
  #parsed = 0;
  #skipped = 0;
  #malformedCount = 0;
  #rawBytes = 0;

  constructor(options: ReaderOptions, sink: BatchSink) {
    this.#options = options;
    this.#sink = sink;
    this.#since = options.since ?? Number.NEGATIVE_INFINITY;
    this.#until = options.until ?? Number.POSITIVE_INFINITY;
    this.#routes = new RouteTable(options.windows, options.maxRoutes);
    this.#tracker = new IpTracker({ topN: Math.max(1, options.top) });
    this.#batches = options.batches;
    this.#parsers = {
      combined: parseCombined,
      common: parseCommon,
      jsonl: jsonLineParser(options.jsonFields),
    };
    this.#batch = new LineBatch();
    this.#routes.onNewRoute((route, id) => {
      this.#batch.newRoutes.push({ id, method: route.method, path: route.path } satisfies NewRoute);
    });
  }

  /** Bytes read from files and stdin so far (compressed, for gzip). */
  get rawBytes(): number {
    return this.#rawBytes;
  }

  get lines(): number {
    return this.#lines;
  }

  /** Gives back a batch the sink is done with, to be refilled. */
  recycle(batch: LineBatch): void {
    batch.clear();
    this.#free.push(batch);
  }

  /** Reads every input in order; resolves when the last batch has been taken. */
  async read(inputs: readonly LogInput[], onChunk?: () => void): Promise<ReaderSummary> {
    const splitter = new LineSplitter(
      {
        line: (text, start, end, bytes, number) => this.#lineRead(text, start, end, bytes, number),
        tooLong: (number) => {
          this.#lines++;
          this.#malformedLine(number, 'line too long');
        },
      },
      this.#options.maxLineBytes,
    );
    const onRaw = (bytes: number) => {
      this.#rawBytes += bytes;
    };
    for (const input of inputs) {
      this.#file = input.name;
      this.#parser = undefined;
      this.#files.push(input.name);
      try {
        for await (const chunk of logChunks(input, onRaw)) {
          splitter.push(chunk);
          await this.#flush();
          onChunk?.();
        }
      } catch (error) {
        if (!(error instanceof LogReadError)) throw error;
        this.#readErrors.push({ file: input.name, message: error.message });
      }
      splitter.end();
    }
    if (this.#batches && (this.#batch.length > 0 || this.#batch.newRoutes.length > 0)) {
      this.#ready.push(this.#batch);
    }
    await this.#flush();
    return this.#summary();
  }

  #lineRead(text: string, start: number, end: number, bytes: Buffer, number: number): void {
    this.#lines++;
    let parser = this.#parser;
    if (parser === undefined) {
      // Blank lines before the first line of a file say nothing of its format.
      if (start === end) {
        this.#malformedLine(number, 'empty line');
        return;
      }
      const format = this.#options.format;
      parser = this.#parsers[format === 'auto' ? detectFormat(text, start, end) : format];
      this.#parser = parser;
    }
    const line = this.#line;
    const reason = parser(text, start, end, bytes, line);
    if (reason !== undefined) {
      this.#malformedLine(number, reason);
      return;
    }
    const time = line.time;
    if (time < this.#since || time >= this.#until) {
      this.#skipped++;
      return;
    }
    if (time > this.#now) this.#now = time;
    if (this.#parsed === 0) this.#first = time;
    this.#parsed++;
    const now = this.#now;
    this.#classes[(line.status / 100) | 0]!++;
    this.#tracker.countAddress(line.family as 4 | 6, line.words);
    // The route first: a new one is announced in this batch, before the line that names it.
    const route = this.#routes.hit(
      line.routeText,
      line.routeStart,
      line.methodEnd,
      line.routeEnd,
      now,
    );
    if (!this.#batches) return;
    const batch = this.#batch;
    const i = batch.length++;
    batch.family[i] = line.family;
    const words = line.words;
    const at = i * 4;
    batch.words[at] = words[0]!;
    batch.words[at + 1] = words[1]!;
    batch.words[at + 2] = words[2]!;
    batch.words[at + 3] = words[3]!;
    batch.time[i] = now;
    batch.status[i] = line.status;
    batch.route[i] = route;
    if (batch.full) {
      this.#ready.push(batch);
      this.#batch = this.#free.pop() ?? new LineBatch();
    }
  }

  /** Hands the filled batches to the sink, one at a time. */
  async #flush(): Promise<void> {
    while (this.#ready.length > 0) {
      const batch = this.#ready.shift()!;
      const taken = this.#sink(batch);
      if (taken !== undefined) await taken;
    }
  }

  #malformedLine(number: number, reason: MalformedReason): void {
    this.#malformedCount++;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    if (this.#malformed.length < (this.#options.malformedShown ?? 10)) {
      this.#malformed.push({ file: this.#file, line: number, reason });
    }
  }

  #summary(): ReaderSummary {
    const windows = this.#routes.windowsSeconds;
    const routes = this.#routes.routes
      .map((route) => ({
        method: route.method,
        path: route.path,
        count: route.hits,
        peaks: Object.fromEntries(windows.map((w, i) => [String(w), route.peaks[i]!])),
      }))
      .sort(
        (a, b) =>
          b.count - a.count || compareText(a.method, b.method) || compareText(a.path, b.path),
      );
    const status: Record<string, number> = {};
    STATUS_CLASSES.forEach((name, i) => {
      status[name] = this.#classes[i + 1]!;
    });
    let other = 0;
    for (let i = 6; i < 10; i++) other += this.#classes[i]!;
    if (other > 0) status.other = other;
    return {
      files: this.#files,
      lines: this.#lines,
      parsed: this.#parsed,
      skipped: this.#skipped,
      firstTime: this.#parsed === 0 ? null : this.#first,
      lastTime: this.#parsed === 0 ? null : this.#now,
      malformed: {
        count: this.#malformedCount,
        byReason: Object.fromEntries(this.#byReason),
        first: this.#malformed,
      },
      readErrors: this.#readErrors,
      routes,
      windows,
      status,
      distinctClients: this.#tracker.size,
      top: this.#tracker.top(Math.min(this.#options.top, this.#tracker.topN)),
    };
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
