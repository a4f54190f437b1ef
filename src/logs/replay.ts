import { BanHammer } from '../banhammer/ban-hammer.js';
import type { BansFile } from '../banhammer/bans-file.js';
import type { BansConfig, MetricConfig } from '../banhammer/config.js';
import type { TrippedEvent } from '../banhammer/events.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import type { Clock } from '../time/clock.js';
import type { NewRoute } from './line-batch.js';
import { type CompiledMatch, compileMatch } from './line-match.js';

/*
 * A bans file replayed on a log: a BanHammer on its own memory store, whose clock is the
 * log's (the analysis moves it line by line), fed one `incr` per line and matching metric.
 * That is the BanHammer's own rule — every event counts, refused ones too — so a client that
 * keeps going climbs the tiers as it would have live.
 *
 * A trip's time is the log time of the line that tripped it. The BanHammer emits `tripped`
 * after the caller has its decision, so by then the clock has moved on; the replay notes the
 * time when the trip counters move, and the events, which come in the same order, take their
 * times from that queue.
 */

/** One trip, as `analyze` reports it. */
export interface Trip {
  /** Epoch ms of the line that tripped it. */
  readonly time: number;
  readonly token: string;
  readonly metric: string;
  /** The tier: the threshold's index in its metric's list. */
  readonly threshold: number;
  /** What the threshold would run: its actions' names, `+`-joined, or `none`. */
  readonly action: string;
  /** A shadow threshold's trip: reported, never enforced. */
  readonly shadow: boolean;
}

/** Trips of one tier, for the totals. */
export interface TierTotal {
  readonly metric: string;
  readonly threshold: number;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly durationSeconds: number;
  readonly shadow: boolean;
  readonly action: string;
  trips: number;
  /** Distinct tokens that tripped it. */
  readonly tokens: Set<string>;
}

export interface ReplayOptions {
  /** Run the file's actions (a journal written, a report POSTed). @default false: recorded. */
  runActions?: boolean;
}

export class BansReplay {
  /** The file, as given on the command line. */
  readonly name: string;
  readonly trips: Trip[] = [];
  readonly tiers: TierTotal[] = [];
  readonly #hammer: BanHammer;
  readonly #metrics: string[];
  readonly #matches: CompiledMatch[];
  /** Per route id, the metrics (indexes) whose method and path the route matches. */
  readonly #routeMetrics: number[][] = [];
  /** Per metric, whether each status code 0–999 matches. */
  readonly #statusMatch: Uint8Array[];
  readonly #actions = new Map<string, string[]>();
  /** Times of trips whose events have not come yet, from #tripHead on. */
  #tripTimes: number[] = [];
  #tripHead = 0;
  #tripsSeen = 0;
  readonly #now: () => number;

  constructor(name: string, file: BansFile, clock: Clock, options: ReplayOptions = {}) {
    this.name = name;
    this.#now = clock;
    const bans = entries(file.bans);
    this.#metrics = bans.map(([metric]) => metric);
    this.#matches = this.#metrics.map((metric) => compileMatch(file.matches.get(metric)));
    this.#statusMatch = this.#matches.map((match) => {
      const table = new Uint8Array(1000);
      for (let code = 0; code < 1000; code++) table[code] = match.statusMatches(code) ? 1 : 0;
      return table;
    });
    for (const [metric, config] of bans) {
      this.#actions.set(
        metric,
        config.thresholds.map((t) =>
          t.action.length === 0 ? 'none' : t.action.map((a) => a.name || 'anonymous').join('+'),
        ),
      );
    }
    const replayed: BansConfig = options.runActions
      ? file.bans
      : new Map(bans.map(([metric, config]) => [metric, withoutActions(config)]));
    this.#hammer = new BanHammer(replayed, {
      store: new MemoryStore({ maxTokens: Number.POSITIVE_INFINITY }),
      clock,
    });
    for (const [metric, config] of bans) {
      config.thresholds.forEach((t, i) => {
        this.tiers.push({
          metric,
          threshold: i,
          limit: t.limit,
          windowSeconds: t.window,
          durationSeconds: t.action_duration,
          shadow: t.mode === 'shadow',
          action: this.#actions.get(metric)![i]!,
          trips: 0,
          tokens: new Set(),
        });
      });
    }
    this.#hammer.on('tripped', (event) => this.#tripped(event));
  }

  /** The metrics, in the file's order. */
  get metrics(): readonly string[] {
    return this.#metrics;
  }

  /** Settles which metrics a new route can match (the analysis calls it for each route). */
  routeAdded(route: NewRoute): void {
    const metrics: number[] = [];
    for (let m = 0; m < this.#matches.length; m++) {
      if (this.#matches[m]!.routeMatches(route.method, route.path)) metrics.push(m);
    }
    this.#routeMetrics[route.id] = metrics;
  }

  /** Whether a line of `route` and `status` is an event of any metric. */
  matches(route: number, status: number): boolean {
    const metrics = this.#routeMetrics[route]!;
    for (let i = 0; i < metrics.length; i++)
      if (this.#statusMatch[metrics[i]!]![status] === 1) return true;
    return false;
  }

  /** Counts the line (client `token`, `route`, `status`) for each metric it matches. */
  line(token: string, route: number, status: number): void {
    const metrics = this.#routeMetrics[route]!;
    const hammer = this.#hammer;
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i]!;
      if (this.#statusMatch[m]![status] !== 1) continue;
      // Decided synchronously by the memory store; the promise is one the BanHammer made
      // already resolved, and nothing waits for it.
      void hammer.incr(token, this.#metrics[m]!);
      const seen = hammer.counters.tripped + hammer.counters.shadow_tripped;
      if (seen !== this.#tripsSeen) {
        const now = this.#now();
        for (let k = this.#tripsSeen; k < seen; k++) this.#tripTimes.push(now);
        this.#tripsSeen = seen;
      }
    }
  }

  /** Lets the deferred trip events (and any actions) run; call before reading `trips`. */
  async settled(): Promise<void> {
    await this.#hammer.settled();
  }

  async close(): Promise<void> {
    await this.#hammer.close();
  }

  #tripped(event: TrippedEvent): void {
    const time = this.#tripTimes[this.#tripHead++] ?? this.#now();
    if (this.#tripHead === this.#tripTimes.length) {
      this.#tripTimes = [];
      this.#tripHead = 0;
    }
    const action = this.#actions.get(event.metric)![event.threshold]!;
    this.trips.push({
      time,
      token: event.token,
      metric: event.metric,
      threshold: event.threshold,
      action,
      shadow: event.shadow,
    });
    const tier = this.tiers.find(
      (t) => t.metric === event.metric && t.threshold === event.threshold,
    )!;
    tier.trips++;
    tier.tokens.add(event.token);
  }
}

function entries(bans: BansConfig): [string, MetricConfig][] {
  return bans instanceof Map ? [...bans.entries()] : Object.entries(bans);
}

function withoutActions(config: MetricConfig): MetricConfig {
  return { ...config, thresholds: config.thresholds.map((t) => ({ ...t, action: [] })) };
}
