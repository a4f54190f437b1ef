import type { BansFile } from '../banhammer/bans-file.js';
import { IpTracker, type TopEntry } from '../tracker/ip-tracker.js';
import { LogLine, type MalformedReason } from './log-line.js';
import { BansReplay, type TierTotal, type Trip } from './replay.js';
import { RouteTable } from './route-table.js';
import { TokenCache } from './token-cache.js';

/*
 * What `hitwarden analyze` learns from a log: the engines that guard a live service, fed a
 * log's lines instead of requests. The parsers fill one `LogLine`; `counted` takes it to the
 * IP tracker (top clients), the route table (hits and peaks), the status classes and each
 * bans replay. Everything here is bounded by the engines' own state — distinct clients,
 * routes, tokens — never by the log's length.
 *
 * Time is the log's: the clock is the latest timestamp read so far, so a line written a
 * little out of order (nginx stamps a request when it ends) is taken at the latest time and
 * windows never run backwards.
 */

export interface AnalysisOptions {
  /** Clients in the top list. */
  readonly top: number;
  /** Windows for the routes' peaks, in seconds. */
  readonly windows: readonly number[];
  /** Lines before this (epoch ms, inclusive) or from `until` on are skipped. */
  readonly since?: number;
  readonly until?: number;
  /** Bans files to replay, each on its own BanHammer; the second is the `--compare`. */
  readonly replays?: readonly { readonly name: string; readonly file: BansFile }[];
  readonly runActions?: boolean;
  /** Malformed lines reported by number (all are counted). @default 10 */
  readonly malformedShown?: number;
  readonly maxRoutes?: number;
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

export interface ReplayReport {
  readonly file: string;
  readonly trips: readonly Trip[];
  readonly tiers: readonly TierTotal[];
}

export interface AnalysisResult {
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
  readonly distinctClients: number;
  readonly malformed: {
    readonly count: number;
    readonly byReason: Readonly<Record<string, number>>;
    readonly first: readonly MalformedLine[];
  };
  /** Files that could not be read to their end (a gzip stream cut short): what was read of
   *  them is counted. */
  readonly readErrors: readonly { readonly file: string; readonly message: string }[];
  readonly top: readonly TopEntry[];
  /** Every route, most hits first. */
  readonly routes: readonly RouteReport[];
  readonly windows: readonly number[];
  readonly status: Readonly<Record<string, number>>;
  readonly replays: readonly ReplayReport[];
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export class LogAnalysis {
  /** The record the parsers fill for each line. */
  readonly line = new LogLine();
  lines = 0;
  readonly #options: AnalysisOptions;
  readonly #tracker: IpTracker;
  readonly #routes: RouteTable;
  readonly #tokens = new TokenCache();
  readonly #replays: BansReplay[];
  /** Lines per status class, by hundreds (index 1 = 1xx … 9 = 9xx). */
  readonly #classes = new Float64Array(10);
  readonly #malformed: MalformedLine[] = [];
  readonly #byReason = new Map<MalformedReason, number>();
  readonly #readErrors: { file: string; message: string }[] = [];
  readonly #files: string[] = [];
  readonly #since: number;
  readonly #until: number;
  /** The log's clock: the latest time counted. */
  #now = Number.NEGATIVE_INFINITY;
  #first = Number.NaN;
  #parsed = 0;
  #skipped = 0;
  #malformedCount = 0;

  constructor(options: AnalysisOptions) {
    this.#options = options;
    this.#since = options.since ?? Number.NEGATIVE_INFINITY;
    this.#until = options.until ?? Number.POSITIVE_INFINITY;
    this.#tracker = new IpTracker({ topN: Math.max(1, options.top) });
    this.#routes = new RouteTable(options.windows, options.maxRoutes);
    const clock = () => this.#now;
    this.#replays = (options.replays ?? []).map(
      ({ name, file }) =>
        new BansReplay(name, file, clock, { runActions: options.runActions === true }),
    );
    for (const replay of this.#replays) {
      this.#routes.onNewRoute((route, id) => replay.routeAdded(route, id));
    }
  }

  /** The file whose lines come next. */
  fileStarted(name: string): void {
    this.#files.push(name);
  }

  /** The line in `line` parsed. */
  counted(): void {
    const line = this.line;
    const time = line.time;
    if (time < this.#since || time >= this.#until) {
      this.#skipped++;
      return;
    }
    if (time > this.#now) this.#now = time;
    if (this.#parsed === 0) this.#first = time;
    this.#parsed++;
    const now = this.#now;
    const family = line.family as 4 | 6;
    this.#tracker.countAddress(family, line.words);
    this.#classes[(line.status / 100) | 0]!++;
    const route = this.#routes.hit(
      line.routeText,
      line.routeStart,
      line.methodEnd,
      line.routeEnd,
      now,
    );
    const replays = this.#replays;
    for (let r = 0; r < replays.length; r++) {
      const replay = replays[r]!;
      if (replay.matches(route, line.status)) {
        replay.line(this.#tokens.textOf(family, line.words), route, line.status);
      }
    }
  }

  malformed(file: string, number: number, reason: MalformedReason): void {
    this.#malformedCount++;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    if (this.#malformed.length < (this.#options.malformedShown ?? 10)) {
      this.#malformed.push({ file, line: number, reason });
    }
  }

  readFailed(file: string, message: string): void {
    this.#readErrors.push({ file, message });
  }

  /** Lets the replays' deferred trip events come in; call before `result`. */
  async settled(): Promise<void> {
    for (const replay of this.#replays) await replay.settled();
  }

  async close(): Promise<void> {
    for (const replay of this.#replays) await replay.close();
  }

  result(): AnalysisResult {
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
      lines: this.lines,
      parsed: this.#parsed,
      skipped: this.#skipped,
      firstTime: this.#parsed === 0 ? null : this.#first,
      lastTime: this.#parsed === 0 ? null : this.#now,
      distinctClients: this.#tracker.size,
      malformed: {
        count: this.#malformedCount,
        byReason: Object.fromEntries(this.#byReason),
        first: this.#malformed,
      },
      readErrors: this.#readErrors,
      top: this.#tracker.top(Math.min(this.#options.top, this.#tracker.topN)),
      routes,
      windows,
      status,
      replays: this.#replays.map((replay) => ({
        file: replay.name,
        trips: replay.trips,
        tiers: replay.tiers,
      })),
    };
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
