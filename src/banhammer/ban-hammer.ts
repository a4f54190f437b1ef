import { ConfigError, HitwardenError, quoteInput, StoreError } from '../errors.js';
import { Emitter, type Listener } from '../events.js';
import { CidrSet } from '../ip/cidr-set.js';
import { parseAddress } from '../ip/parse.js';
import {
  booleanOption,
  functionOption,
  integerOption,
  optionsObject,
  timeoutMsOption,
} from '../options.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import { type Stats, type StatusEntry, statsOf, type TokenStatus } from '../store/stats.js';
import type { Decision, Quota, Store } from '../store/store.js';
import {
  HAS_ACTIONS,
  PASSED,
  type SyncDecisions,
  TRIPPED,
  UNTRACKED,
} from '../store/sync-decisions.js';
import { type Clock, systemClock } from '../time/clock.js';
import { ActionRunner } from './action-runner.js';
import { LocalBlockCache } from './actions/local-block-cache.js';
import {
  type BansConfig,
  type CompiledBans,
  type CompiledMetric,
  compileBans,
  metricPath,
} from './config.js';
import type { BanHammerEvents, StoreFullEvent } from './events.js';

export interface BanHammerOptions<ReturnRates extends boolean = false> {
  /** When true, `incr` resolves `[passed, stats]` instead of `passed`. @default false */
  returnRates?: ReturnRates;
  /** Where counters and bans live. @default new MemoryStore() */
  store?: Store;
  /** Epoch-ms clock for the memory store (a Redis store uses the server's). @default Date.now */
  clock?: Clock;
  /** CIDR ranges whose tokens always pass and are not counted (IPv4 and IPv6). */
  allowList?: Iterable<string>;
  /** CIDR ranges whose tokens never pass; they are refused before the store, not counted,
   *  and run no actions. The allow-list wins when a token is in both. */
  denyList?: Iterable<string>;
  /** Time an action may take before it counts as failed, in ms. @default 5000 */
  actionTimeoutMs?: number;
  /** Actions queued or running at once; past that, new ones are dropped and reported as
   *  `action_error` with reason `overloaded`. @default 10000 */
  maxPendingActions?: number;
  /** Tokens the deny cache (`denyCache`) holds at most; past it the oldest go first, and
   *  their next request is decided by the store again. @default 100000 */
  denyCacheSize?: number;
  /** When true, `decide` reports each decision's `quota` (the RateLimit fields on every
   *  response need it; a Redis store then computes it in every decision). @default false */
  quota?: boolean;
}

/**
 * What `decide` resolves: whether the request may go on, and what a response needs to say so
 * (`Retry-After`, the RateLimit fields).
 */
export interface Verdict {
  /** False while any enforcing ban of the token, on any metric, is in force (this event's
   *  included), and for a deny-listed token. */
  readonly allowed: boolean;
  /**
   * How it was decided: `'counted'` (the event was counted and decided by the store),
   * `'cached'` (refused by this BanHammer's deny cache, counting nothing), `'checked'` (no
   * metric: nothing counted, the token's bans looked up), `'allow_list'`, `'deny_list'`.
   */
  readonly by: 'counted' | 'cached' | 'checked' | 'allow_list' | 'deny_list';
  /** The metric's own decision, what `incr` resolves (true when nothing was counted). */
  readonly passed: boolean;
  /** Ms until every enforcing ban of the token, on every metric, has ended (`Retry-After`);
   *  0 when none is in force. */
  readonly retryAfterMs: number;
  /** With the `quota` option, for a counted event: the metric's tightest enforcing
   *  threshold after it, with that threshold's limit and window. */
  readonly quota: VerdictQuota | undefined;
  /** A shadow threshold of the metric tripped or would have refused this event. */
  readonly shadowed: boolean;
}

/** A threshold as `BanHammer#thresholds` describes it. */
export interface ThresholdTerms {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly durationSeconds: number;
  readonly shadow: boolean;
}

/** `Quota` plus the threshold's own terms, for the RateLimit fields. */
export interface VerdictQuota extends Quota {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** What `incr` resolves: `passed`, or `[passed, stats]` with `returnRates: true`. */
export type IncrResult<ReturnRates extends boolean> = ReturnRates extends true
  ? [boolean, Stats]
  : boolean;

/** Running totals, for /metrics and tests. */
export interface BanHammerCounters {
  /** Events decided (allow- and deny-listed ones included). */
  decisions: number;
  passed: number;
  refused: number;
  /** Bans started (by events or by `now`). */
  tripped: number;
  actions_run: number;
  action_errors: number;
  action_timeouts: number;
  actions_dropped: number;
  allow_listed: number;
  deny_listed: number;
  /** Events the memory store decided without storing their new pair, being at `maxTokens`
   *  and full of bans (its `whenFull` policy; see the `store_full` event). */
  untracked: number;
  /** `decide` calls refused by the deny cache, without the store (also in `refused`). */
  deny_cached: number;
  /** Trips of shadow thresholds (not in `tripped`: they ban nothing). */
  shadow_tripped: number;
  /** Events a shadow threshold would have refused, had it been enforced. */
  shadow_refused: number;
}

const RESOLVED_TRUE = Promise.resolve(true);
/** The rates a listed token reports when the store cannot say (see `#listedResult`). */
const UNKNOWN_RATES: Stats = Object.freeze({
  token_rate_1m: 0,
  token_rate_10m: 0,
  token_rate_60m: 0,
});
const RESOLVED_FALSE = Promise.resolve(false);

function verdict(
  allowed: boolean,
  by: Verdict['by'],
  passed: boolean,
  retryAfterMs: number,
  quota: VerdictQuota | undefined,
  shadowed: boolean,
): Verdict {
  return { allowed, by, passed, retryAfterMs, quota, shadowed };
}
const ALLOW_LISTED = Object.freeze(verdict(true, 'allow_list', true, 0, undefined, false));
const DENY_LISTED = Object.freeze(verdict(false, 'deny_list', false, 0, undefined, false));
const NOT_LISTED = 0;
const ALLOWED = 1;
const DENIED = 2;

/**
 * Counts events per token and metric against hierarchical thresholds, and bans.
 *
 * ```ts
 * const bans = new BanHammer({
 *   login_failed: {
 *     thresholds: [
 *       { limit: 10, window: 3600, action: [blockLocal], action_duration: 3600 },
 *       { limit: 100, window: 3600, action: [reportCentral({ url })], action_duration: 86400 },
 *     ],
 *   },
 * });
 * if (!(await bans.incr(ip, 'login_failed'))) reply(429);
 * ```
 *
 * A threshold trips on the event that makes more than `limit` events fall in the last
 * `window` seconds; that event is refused, the threshold's actions run and the token is
 * blocked for `action_duration` seconds. Events during the ban are refused and re-run the
 * actions. Every event counts, refused ones too, and thresholds are independent: a caller who
 * keeps going climbs to the next threshold.
 */
export class BanHammer<ReturnRates extends boolean = false> {
  readonly counters: BanHammerCounters = {
    decisions: 0,
    passed: 0,
    refused: 0,
    tripped: 0,
    actions_run: 0,
    action_errors: 0,
    action_timeouts: 0,
    actions_dropped: 0,
    allow_listed: 0,
    deny_listed: 0,
    untracked: 0,
    deny_cached: 0,
    shadow_tripped: 0,
    shadow_refused: 0,
  };

  /**
   * Tokens this BanHammer knows to be banned, until when: filled by `decide` as it meets an
   * enforcing ban of the token (on any metric, its own trips included), emptied by `reset`
   * and `lift` — here, and on a shared store in every process (`Store#watchLifts`). `decide`
   * answers a token found here at once, counting nothing and without the store. Bounded by
   * `denyCacheSize`; `incr` alone never fills it, so it costs nothing to a BanHammer that is
   * not a request guard.
   */
  readonly denyCache: LocalBlockCache;

  readonly #config: CompiledBans;
  readonly #store: Store;
  /** Set when the store decides synchronously (`Store#openSync`): decisions go straight to it. */
  readonly #core: SyncDecisions | undefined;
  readonly #ready: Promise<void>;
  /** Whether `#ready` has resolved: a decision then goes to the store without waiting a turn. */
  #open = false;
  readonly #returnRates: boolean;
  readonly #quota: boolean;
  readonly #allow: CidrSet | undefined;
  readonly #deny: CidrSet | undefined;
  readonly #words = new Uint32Array(4);
  readonly #runner: ActionRunner;
  readonly #events = new Emitter<BanHammerEvents>('BanHammer');
  /** Whether the decision being settled met a shadow threshold (read by `#verdictOf`). */
  #shadowed = false;
  /** The `store_full` report of this turn, while one is pending. */
  #fullReport: StoreFullEvent | undefined;
  #closed = false;

  constructor(bans: BansConfig, options?: BanHammerOptions<ReturnRates>) {
    this.#config = compileBans(bans);
    const given = optionsObject('BanHammer', options);
    this.#returnRates = booleanOption('BanHammer.returnRates', given.returnRates, false);
    const clock = functionOption<Clock>(
      'BanHammer.clock',
      given.clock,
      systemClock,
      'returning epoch milliseconds',
    );
    const timeoutMs = timeoutMsOption('BanHammer.actionTimeoutMs', given.actionTimeoutMs, 5000);
    const maxPending = integerOption(
      'BanHammer.maxPendingActions',
      given.maxPendingActions,
      10_000,
      1,
    );
    this.#allow = cidrOption('BanHammer.allowList', given.allowList);
    this.#deny = cidrOption('BanHammer.denyList', given.denyList);
    this.#quota = booleanOption('BanHammer.quota', given.quota, false);
    this.denyCache = new LocalBlockCache({
      clock,
      maxEntries: integerOption('BanHammer.denyCacheSize', given.denyCacheSize, 100_000, 1),
    });

    this.#runner = new ActionRunner({
      timeoutMs,
      maxPending,
      onRun: () => {
        this.counters.actions_run++;
      },
      // Each drop is counted as it happens; its report comes later, summed (`count`).
      onDrop: () => {
        this.counters.action_errors++;
        this.counters.actions_dropped++;
      },
      onError: (event) => {
        if (event.reason !== 'overloaded') this.counters.action_errors++;
        if (event.reason === 'timeout') this.counters.action_timeouts++;
        this.#events.emit('action_error', event);
      },
    });

    const store = storeOption(given.store);
    this.#store = store;
    const setup = {
      clock,
      quota: this.#quota,
      metrics: this.#config.metrics.map((metric) => ({
        name: metric.name,
        thresholds: metric.thresholds.map(({ limit, windowSeconds, durationSeconds, shadow }) => ({
          limit,
          windowSeconds,
          durationSeconds,
          shadow,
        })),
      })),
    };
    const openSync = syncOpener(store);
    const watchLifts = liftWatcher(store);
    const onLift = (token: string) => this.denyCache.unblock(token);
    if (openSync !== undefined) {
      this.#core = openSync.call(store, setup);
      this.#ready = Promise.resolve();
      watchLifts?.call(store, onLift);
    } else {
      this.#core = undefined;
      this.#ready = Promise.resolve()
        .then(() => store.open(setup))
        .then(() => watchLifts?.call(store, onLift));
      // Surfaced by the first call that awaits it; never an unhandled rejection.
      this.#ready.then(
        () => {
          this.#open = true;
        },
        () => {},
      );
    }
  }

  /**
   * Counts one event of `metric` for `token` and resolves whether it passes (with the rates
   * after it when `returnRates` is on). Rejects with `ConfigError` for a metric that is not
   * a configured one and a `HitwardenError` with code `HITWARDEN_INVALID_KEY` for a token
   * that is not a string (never throws); never because an action failed.
   */
  incr(token: string, metric: string): Promise<IncrResult<ReturnRates>> {
    const m = this.#config.indexOf.get(metric);
    if (m === undefined || typeof token !== 'string' || this.#closed) {
      return Promise.reject(this.#badCall('incr', token, metric));
    }
    this.counters.decisions++;
    if (this.#allow !== undefined || this.#deny !== undefined) {
      const listed = this.#listed(token);
      if (listed !== NOT_LISTED) return this.#listedResult(listed, token, metric);
    }
    const core = this.#core;
    if (core === undefined) return this.#incrThroughStore(token, m);

    let flags: number;
    try {
      flags = this.#decideSync(core, token, m);
    } catch (error) {
      // A clock that returns garbage (InvalidTimeError, nothing counted): `incr` only rejects.
      return Promise.reject(error);
    }
    const passed = (flags & PASSED) !== 0;
    if (!this.#returnRates) {
      return (passed ? RESOLVED_TRUE : RESOLVED_FALSE) as Promise<IncrResult<ReturnRates>>;
    }
    core.readLastRates();
    return Promise.resolve([passed, statsAt(core.rates, 0)] as IncrResult<ReturnRates>);
  }

  /**
   * What a request guard asks: counts one event of `metric` for `token` (none when `metric`
   * is null) and resolves whether the request may go on. Unlike `incr`, which answers for its
   * metric only, a ban is on the token here: while any enforcing threshold of any metric
   * bans it, the token is refused. A token in the deny cache is refused at once, counting
   * nothing and without a store round trip; on any other, one store call decides (a Redis
   * store's answer includes the token's bans started by other processes). The verdict says
   * how long the ban lasts and, with the `quota` option, how much room is left. Rejects like
   * `incr` (a metric that is neither null nor configured, a token that is not a string).
   */
  decide(token: string, metric: string | null): Promise<Verdict> {
    const m = metric === null ? -1 : this.#config.indexOf.get(metric);
    if (m === undefined || typeof token !== 'string' || this.#closed) {
      return Promise.reject(this.#badCall('decide', token, metric));
    }
    let now: Verdict | undefined;
    try {
      now = this.#decideNow(token, m);
    } catch (error) {
      return Promise.reject(error);
    }
    if (now !== undefined) return Promise.resolve(now);
    if (m >= 0) this.counters.decisions++;
    if (m < 0) {
      return this.#whenOpen(() => this.#store.banMs(token)).then((ms) => this.#checked(token, ms));
    }
    return this.#whenOpen(() => this.#store.incr(token, m)).then((decision) => {
      this.#settled(token, m, decision);
      return this.#verdictOf(token, m, decision.passed, decision.banMs, decision.quota, decision);
    });
  }

  /**
   * `decide`, at once, when the verdict needs no store round trip: always on a store that
   * decides synchronously (the memory store), and on any store for a listed token or one in
   * the deny cache. Returns undefined, having counted nothing, when only the store can say:
   * then call `decide`. Throws what `decide` rejects with. For request guards that answer
   * without a promise when they can.
   */
  decideSync(token: string, metric: string | null): Verdict | undefined {
    const m = metric === null ? -1 : this.#config.indexOf.get(metric);
    if (m === undefined || typeof token !== 'string' || this.#closed) {
      throw this.#badCall('decideSync', token, metric);
    }
    return this.#decideNow(token, m);
  }

  /** `decideSync` on a metric index (−1: none), its arguments checked. */
  #decideNow(token: string, m: number): Verdict | undefined {
    if (this.#allow !== undefined || this.#deny !== undefined) {
      const listed = this.#listed(token);
      if (listed !== NOT_LISTED) {
        if (m >= 0) this.counters.decisions++;
        const allowed = m >= 0 ? this.#countListed(listed) : listed === ALLOWED;
        return allowed ? ALLOW_LISTED : DENY_LISTED;
      }
    }
    const cachedMs = this.denyCache.remainingMs(token);
    if (cachedMs > 0) {
      if (m >= 0) {
        this.counters.decisions++;
        this.counters.refused++;
      }
      this.counters.deny_cached++;
      return verdict(false, 'cached', false, cachedMs, undefined, false);
    }
    const core = this.#core;
    if (core === undefined) return undefined;
    if (m < 0) return this.#checked(token, core.banMs(token));
    this.counters.decisions++;
    const flags = this.#decideSync(core, token, m);
    let quota: Quota | undefined;
    if (this.#quota) {
      core.readLastQuota();
      const q = core.quota;
      if (q[0]! >= 0) quota = { threshold: q[0]!, remaining: q[1]!, resetMs: q[2]! };
    }
    return this.#verdictOf(
      token,
      m,
      (flags & PASSED) !== 0,
      core.readLastBanMs(),
      quota,
      undefined,
    );
  }

  /**
   * Lifts every ban of `token` on every metric and forgets its events, and drops it from the
   * deny cache: here, and on a store shared by several processes, in each of theirs (see
   * `Store#watchLifts`).
   */
  async lift(token: string): Promise<void> {
    if (typeof token !== 'string' || this.#closed) throw this.#badCall('lift', token, '');
    await this.#ready;
    this.denyCache.unblock(token);
    await Promise.all(this.#config.metrics.map((_, m) => this.#store.reset(token, m)));
    // Again: a decision in flight during the resets may have cached the ban they lifted.
    this.denyCache.unblock(token);
  }

  /**
   * Counts one event of `metric` for each of `tokens`, in order, and resolves what `incr`
   * would have resolved for each: the same decisions, counters, actions and events as one
   * `incr` per token. On a store that decides synchronously (the memory store) the batch is
   * decided in one synchronous call (`SyncDecisions#incrMany`), which over many distinct
   * tokens is faster than deciding them one by one; on other stores it is one `incr` per token (a Redis store
   * coalesces those into shared script calls anyway). Rejects before counting anything for a
   * metric that is not configured or a token that is not a string.
   */
  incrMany(input: readonly string[], metric: string): Promise<IncrResult<ReturnRates>[]> {
    const m = this.#config.indexOf.get(metric);
    if (m === undefined || this.#closed) {
      return Promise.reject(this.#badCall('incrMany', '', metric));
    }
    const tokens = tokensOf(input);
    if (!Array.isArray(tokens)) return Promise.reject(tokens);
    const core = this.#core;
    if (core === undefined) return Promise.all(tokens.map((token) => this.incr(token, metric)));
    this.counters.decisions += tokens.length;
    const passed = new Array<boolean>(tokens.length);
    // The tokens the store decides, and where each one's answer goes (the same places unless
    // lists took some out).
    let decided = tokens;
    let places: number[] | undefined;
    if (this.#allow !== undefined || this.#deny !== undefined) {
      const unlisted: string[] = [];
      places = [];
      for (let i = 0; i < tokens.length; i++) {
        const listed = this.#listed(tokens[i]!);
        if (listed === NOT_LISTED) {
          unlisted.push(tokens[i]!);
          places.push(i);
        } else {
          passed[i] = this.#countListed(listed);
        }
      }
      decided = unlisted;
    }
    const out = new Uint8Array(decided.length);
    const rates = this.#returnRates ? new Float64Array(3 * decided.length) : undefined;
    try {
      core.incrMany(decided, m, out, (k) => this.#scheduleFromCore(core, decided[k]!, m), rates);
    } catch (error) {
      // A clock that returns garbage (InvalidTimeError, read before anything was counted).
      this.counters.decisions -= decided.length;
      return Promise.reject(error);
    }
    for (let k = 0; k < decided.length; k++) {
      if ((out[k]! & UNTRACKED) !== 0) this.#storeFull(decided[k]!, m);
      const ok = (out[k]! & PASSED) !== 0;
      if (ok) this.counters.passed++;
      else this.counters.refused++;
      passed[places === undefined ? k : places[k]!] = ok;
    }
    if (rates === undefined) return Promise.resolve(passed as IncrResult<ReturnRates>[]);
    // With rates: each decided token's from the batch; a listed token's, which are never
    // counted, as they stand.
    const results = new Array<[boolean, Stats]>(tokens.length);
    for (let k = 0; k < decided.length; k++) {
      const i = places === undefined ? k : places[k]!;
      results[i] = [passed[i]!, statsAt(rates, 3 * k)];
    }
    if (places !== undefined) {
      for (let i = 0; i < tokens.length; i++) {
        if (results[i] !== undefined) continue;
        core.readRates(tokens[i]!, m);
        results[i] = [passed[i]!, statsAt(core.rates, 0)];
      }
    }
    return Promise.resolve(results as IncrResult<ReturnRates>[]);
  }

  /**
   * Bans `token` at `threshold` of `metric` at once (running that threshold's actions) without
   * counting an event; resolves the status after. Rejects with `ConfigError` for an unknown
   * metric or a threshold index that does not exist.
   */
  async now(token: string, metric: string, threshold = 0): Promise<TokenStatus> {
    const m = this.#metricOrThrow('now', token, metric);
    const config = this.#config.metrics[m]!;
    const count = config.thresholds.length;
    if (typeof threshold !== 'number' || !Number.isInteger(threshold)) {
      throw new ConfigError(
        'BanHammer.now.threshold',
        `must be a threshold index, an integer from 0 to ${count - 1}, got ${quoteInput(threshold)}`,
      );
    }
    if (threshold < 0 || threshold >= count) {
      throw new ConfigError(
        `${metricPath(metric)}.thresholds[${quoteInput(threshold)}]`,
        `does not exist: ${quoteInput(metric)} has ${count} threshold(s), 0 to ${count - 1}`,
      );
    }
    await this.#ready;
    const status = await this.#store.ban(token, m, threshold);
    this.#schedule(config, token, threshold, true);
    return this.#enforcedOnly(m, status);
  }

  /** Lifts the bans and clears the counters of `token` for `metric`. */
  async reset(token: string, metric: string): Promise<void> {
    const m = this.#metricOrThrow('reset', token, metric);
    await this.#ready;
    this.denyCache.unblock(token);
    await this.#store.reset(token, m);
    // A ban on another metric still holds: the next decision finds it and caches it again.
    this.denyCache.unblock(token);
  }

  /** Rates of `token` for `metric`, and its bans in force. */
  async status(token: string, metric: string): Promise<TokenStatus> {
    const m = this.#metricOrThrow('status', token, metric);
    await this.#ready;
    return this.#enforcedOnly(m, await this.#store.status(token, m));
  }

  /**
   * Every tracked token → metric → status, in one object (null-prototype objects, so a token
   * named `__proto__` is just a key). For large tables prefer `scan()`.
   */
  async statusAll(): Promise<Record<string, Record<string, TokenStatus>>> {
    const all: Record<string, Record<string, TokenStatus>> = Object.create(null);
    for await (const { token, metric, status } of this.scan()) {
      let row = all[token];
      if (row === undefined) {
        row = Object.create(null) as Record<string, TokenStatus>;
        all[token] = row;
      }
      row[metric] = status;
    }
    return all;
  }

  /** Streams every tracked (token, metric) pair with its status, in batches. */
  async *scan(): AsyncGenerator<StatusEntry> {
    await this.#ready;
    for await (const entry of this.#store.scan()) {
      const m = this.#config.indexOf.get(entry.metric);
      yield m === undefined ? entry : { ...entry, status: this.#enforcedOnly(m, entry.status) };
    }
  }

  /** The configured metrics, in configuration order. */
  get metrics(): readonly string[] {
    return this.#config.metrics.map((metric) => metric.name);
  }

  /** The terms of `metric`'s thresholds, in order (for the RateLimit fields); undefined for
   *  a metric that is not configured. */
  thresholds(metric: string): readonly ThresholdTerms[] | undefined {
    const m = this.#config.indexOf.get(metric);
    if (m === undefined) return undefined;
    return this.#config.metrics[m]!.thresholds.map(
      ({ limit, windowSeconds, durationSeconds, shadow }) => ({
        limit,
        windowSeconds,
        durationSeconds,
        shadow,
      }),
    );
  }

  /** Whether `decide` reports quotas (the `quota` option). */
  get reportsQuota(): boolean {
    return this.#quota;
  }

  /** Subscribes to `tripped` and `action_error` events. */
  on<K extends keyof BanHammerEvents>(event: K, listener: Listener<BanHammerEvents[K]>): this {
    // Checked here, where a mistake can be thrown: a listener is called off the caller's path.
    if (event !== 'tripped' && event !== 'action_error' && event !== 'store_full') {
      throw new ConfigError(
        'BanHammer.on',
        `no event ${quoteInput(event)}: the events are "tripped", "action_error" and "store_full"`,
      );
    }
    if (typeof listener !== 'function') {
      throw new ConfigError(
        'BanHammer.on.listener',
        `must be a function taking the event, got ${quoteInput(listener)}`,
      );
    }
    this.#events.on(event, listener);
    return this;
  }

  off<K extends keyof BanHammerEvents>(event: K, listener: Listener<BanHammerEvents[K]>): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Listener calls that threw (caught, never reaching the engine; see src/events.ts). */
  get listenerErrors(): number {
    return this.#events.listenerErrors;
  }

  /** Resolves once every action started so far has settled (or timed out). */
  settled(): Promise<void> {
    return this.#runner.idle();
  }

  /** Waits for pending actions, then closes the store. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#runner.idle();
    await this.#store.close();
  }

  #incrThroughStore(token: string, m: number): Promise<IncrResult<ReturnRates>> {
    return this.#whenOpen(() => this.#store.incr(token, m)).then((decision) => {
      this.#settled(token, m, decision);
      return (
        this.#returnRates ? [decision.passed, decision.stats] : decision.passed
      ) as IncrResult<ReturnRates>;
    });
  }

  /** `call()` on the open store: at once once it is open (one promise per call, no turn
   *  spent waiting), else after `#ready`. A store that throws instead of rejecting still
   *  only rejects. */
  #whenOpen<T>(call: () => Promise<T>): Promise<T> {
    try {
      return this.#open ? call() : this.#ready.then(call);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** One event decided by the synchronous core: counters, actions, events; the core's bits.
   *  Throws what the core's clock throws, with nothing counted. */
  #decideSync(core: SyncDecisions, token: string, m: number): number {
    let flags: number;
    try {
      flags = core.incr(token, m);
    } catch (error) {
      // Counted by the caller, before the lists, so undone here.
      this.counters.decisions--;
      throw error;
    }
    this.#shadowed = false;
    if ((flags & HAS_ACTIONS) !== 0) this.#scheduleFromCore(core, token, m);
    if ((flags & UNTRACKED) !== 0) this.#storeFull(token, m);
    if ((flags & PASSED) !== 0) this.counters.passed++;
    else this.counters.refused++;
    return flags;
  }

  /** A store's decision: counters, actions and events, and the deny cache. */
  #settled(token: string, m: number, decision: Decision): void {
    const config = this.#config.metrics[m]!;
    this.#shadowed = false;
    for (const threshold of decision.tripped) this.#schedule(config, token, threshold, false);
    for (const threshold of decision.blocking) this.#scheduleRerun(config, token, threshold);
    if (decision.passed) this.counters.passed++;
    else this.counters.refused++;
  }

  #scheduleFromCore(core: SyncDecisions, token: string, m: number): void {
    const config = this.#config.metrics[m]!;
    const state = core.thresholdState;
    for (let i = 0; i < config.thresholds.length; i++) {
      const s = state[i]!;
      if (s === TRIPPED) this.#schedule(config, token, i, false);
      else if (s !== 0) this.#scheduleRerun(config, token, i);
    }
  }

  #cacheBan(token: string, ms: number): void {
    if (ms > 0) this.denyCache.block(token, ms / 1000);
  }

  /** The verdict on a token with no event counted: its bans looked up. */
  #checked(token: string, banMs: number): Verdict {
    this.#cacheBan(token, banMs);
    return verdict(banMs === 0, 'checked', true, banMs, undefined, false);
  }

  /** The verdict on a counted event (see `decide`). */
  #verdictOf(
    token: string,
    m: number,
    passed: boolean,
    banMs: number,
    quota: Quota | undefined,
    decision: Decision | undefined,
  ): Verdict {
    this.#cacheBan(token, banMs);
    let full: VerdictQuota | undefined;
    if (quota !== undefined) {
      const threshold = this.#config.metrics[m]!.thresholds[quota.threshold]!;
      full = {
        threshold: quota.threshold,
        remaining: quota.remaining,
        resetMs: quota.resetMs,
        limit: threshold.limit,
        windowSeconds: threshold.windowSeconds,
      };
    }
    const shadowed = decision === undefined ? this.#shadowed : this.#hitsShadow(m, decision);
    return verdict(passed && banMs === 0, 'counted', passed, banMs, full, shadowed);
  }

  /** Whether the decision tripped or met a shadow threshold's ban. */
  #hitsShadow(m: number, decision: Decision): boolean {
    const thresholds = this.#config.metrics[m]!.thresholds;
    for (const i of decision.tripped) if (thresholds[i]!.shadow) return true;
    for (const i of decision.blocking) if (thresholds[i]!.shadow) return true;
    return false;
  }

  /** `status` without the bans of shadow thresholds, which ban nothing (a store keeps them
   *  only so that a shadow threshold trips once per ban). */
  #enforcedOnly(m: number, status: TokenStatus): TokenStatus {
    const thresholds = this.#config.metrics[m]!.thresholds;
    if (!status.bans.some((ban) => thresholds[ban.threshold]?.shadow === true)) return status;
    const bans = status.bans.filter((ban) => thresholds[ban.threshold]?.shadow !== true);
    let blockedUntil: number | null = null;
    for (const ban of bans)
      if (blockedUntil === null || ban.until > blockedUntil) blockedUntil = ban.until;
    return { ...status, blocked_until: blockedUntil, bans };
  }

  /** The store, full (the memory store: of bans), decided an event without storing it: counted, and
   *  reported once per turn (see `StoreFullEvent`). */
  #storeFull(token: string, m: number): void {
    this.counters.untracked++;
    if (!this.#events.has('store_full')) return;
    if (this.#fullReport !== undefined) {
      this.#fullReport.count++;
      return;
    }
    const report: StoreFullEvent = {
      token,
      metric: this.#config.metrics[m]!.name,
      policy: this.#core?.whenFull ?? 'untracked',
      count: 1,
    };
    this.#fullReport = report;
    this.#runner.defer(() => {
      this.#fullReport = undefined;
      this.#events.emit('store_full', report);
    });
  }

  /** A new ban: event, counter and actions; for a shadow threshold, the event and its
   *  counters only. */
  #schedule(config: CompiledMetric, token: string, i: number, manual: boolean): void {
    const threshold = config.thresholds[i]!;
    if (threshold.shadow) this.counters.shadow_tripped++;
    else this.counters.tripped++;
    if (this.#events.has('tripped')) {
      const event = {
        token,
        metric: config.name,
        threshold: i,
        limit: threshold.limit,
        window: threshold.windowSeconds,
        duration: threshold.durationSeconds,
        manual,
        shadow: threshold.shadow,
      };
      // Like actions, after the caller has its decision.
      this.#runner.defer(() => this.#events.emit('tripped', event));
    }
    if (manual) {
      if (!threshold.shadow)
        for (const action of threshold.actions) this.#runner.enqueue(action, token);
    } else this.#scheduleRerun(config, token, i);
  }

  /** An event met (or started) the threshold's ban: its actions run again; a shadow
   *  threshold runs none and counts the refusal it would have made. */
  #scheduleRerun(config: CompiledMetric, token: string, i: number): void {
    const threshold = config.thresholds[i]!;
    if (threshold.shadow) {
      this.counters.shadow_refused++;
      this.#shadowed = true;
      return;
    }
    for (const action of threshold.actions) this.#runner.enqueue(action, token);
  }

  #listed(token: string): number {
    let family = parseAddress(token, this.#words);
    if (family === 0) {
      // A network token (the HTTP guard's IPv6 clients, `2001:db8:1:2::/64`) is listed when
      // its first address is: a list range at least as wide as the network holds all of it.
      const slash = token.lastIndexOf('/');
      if (slash <= 0) return NOT_LISTED;
      family = parseAddress(token.slice(0, slash), this.#words);
      if (family === 0) return NOT_LISTED;
    }
    if (this.#allow?.has(family, this.#words)) return ALLOWED;
    if (this.#deny?.has(family, this.#words)) return DENIED;
    return NOT_LISTED;
  }

  #listedResult(listed: number, token: string, metric: string): Promise<IncrResult<ReturnRates>> {
    const passed = this.#countListed(listed);
    if (!this.#returnRates) {
      return (passed ? RESOLVED_TRUE : RESOLVED_FALSE) as Promise<IncrResult<ReturnRates>>;
    }
    // A listed token is decided without the store; only its rates come from there. When the
    // store cannot give them (Redis away or hung: the store reports that itself, e.g. as
    // `store_error`), the rates are zeros, as for a token never counted: the decision stands
    // and `incr` does not reject.
    return this.status(token, metric).then(
      (status) => [passed, statsOf(status)] as IncrResult<ReturnRates>,
      () => [passed, { ...UNKNOWN_RATES }] as IncrResult<ReturnRates>,
    );
  }

  /** Counts the decision for a listed token; whether it passes. */
  #countListed(listed: number): boolean {
    if (listed === ALLOWED) {
      this.counters.allow_listed++;
      this.counters.passed++;
      return true;
    }
    this.counters.deny_listed++;
    this.counters.refused++;
    return false;
  }

  /** The index of `metric`; throws what `#badCall` says when the call cannot go on. Only
   *  for async methods, where the throw becomes their rejection. */
  #metricOrThrow(method: string, token: unknown, metric: unknown): number {
    const m = this.#config.indexOf.get(metric as string);
    if (m === undefined || typeof token !== 'string' || this.#closed) {
      throw this.#badCall(method, token, metric);
    }
    return m;
  }

  /** Why `method(token, metric)` cannot go on: closed, a token that is not a string, a metric
   *  that is not a string, or one that is not configured. */
  #badCall(method: string, token: unknown, metric: unknown): Error {
    if (this.#closed) return new StoreError('this BanHammer is closed');
    if (typeof token !== 'string') {
      return invalidKey(`BanHammer.${method}: token must be a string, got ${quoteInput(token)}`);
    }
    if (typeof metric !== 'string') {
      return new ConfigError(
        `BanHammer.${method}.metric`,
        `must be a string naming a configured metric, got ${quoteInput(metric)}`,
      );
    }
    const known = [...this.#config.indexOf.keys()].slice(0, 10).map((name) => quoteInput(name));
    return new ConfigError(
      metricPath(metric),
      `${quoteInput(metric)} is not a configured metric (configured: ${known.join(', ')}${this.#config.indexOf.size > 10 ? ', …' : ''})`,
    );
  }
}

/** An error for a token (or tokens) of the wrong type: the code a HitCounter uses for keys. */
function invalidKey(message: string, options?: ErrorOptions): HitwardenError {
  return new HitwardenError('HITWARDEN_INVALID_KEY', message, options);
}

/**
 * `input` copied into an array of strings, or the error to reject with. Read once, by index,
 * inside a guard: an array's getter, its own iterator or a Proxy can neither throw from
 * `incrMany` nor hand the store something other than what was checked.
 */
function tokensOf(input: unknown): string[] | HitwardenError {
  try {
    if (!Array.isArray(input)) {
      return invalidKey(
        `BanHammer.incrMany: tokens must be an array of strings, got ${quoteInput(input)}`,
      );
    }
    const length = input.length;
    const tokens = new Array<string>(length);
    for (let i = 0; i < length; i++) {
      const token: unknown = input[i];
      if (typeof token !== 'string') {
        return invalidKey(
          `BanHammer.incrMany: tokens[${i}] must be a string, got ${quoteInput(token)}`,
        );
      }
      tokens[i] = token;
    }
    return tokens;
  } catch (error) {
    return invalidKey('BanHammer.incrMany: tokens could not be read (a getter or a Proxy threw)', {
      cause: error,
    });
  }
}

/** The three rates at `at` in `rates`, as `Stats`. */
function statsAt(rates: Float64Array, at: number): Stats {
  return {
    token_rate_1m: rates[at]!,
    token_rate_10m: rates[at + 1]!,
    token_rate_60m: rates[at + 2]!,
  };
}

/** The CIDR ranges of a list option; `undefined` when not given. */
function cidrOption(path: string, value: Iterable<string> | undefined): CidrSet | undefined {
  if (value === undefined) return undefined;
  try {
    return CidrSet.from(value, path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // The iterable itself threw (a hostile iterator, a getter, a Proxy).
    throw new ConfigError(path, 'could not be read: iterating it threw', { cause: error });
  }
}

const STORE_METHODS = ['open', 'incr', 'ban', 'reset', 'banMs', 'status', 'scan', 'close'] as const;

/** The store's `openSync`, if it offers one. */
function syncOpener(store: Store): Store['openSync'] {
  return optionalMethod(store, 'openSync') as Store['openSync'];
}

/** The store's `watchLifts`, if it offers one. */
function liftWatcher(store: Store): Store['watchLifts'] {
  return optionalMethod(store, 'watchLifts') as Store['watchLifts'];
}

/** An optional method of the store, read once and guarded like its other methods. */
function optionalMethod(store: Store, name: 'openSync' | 'watchLifts'): unknown {
  let member: unknown;
  try {
    member = store[name];
  } catch (error) {
    throw new ConfigError('BanHammer.store', `reading its ${name}() method threw`, {
      cause: error,
    });
  }
  if (member === undefined) return undefined;
  if (typeof member !== 'function') {
    throw new ConfigError('BanHammer.store', `${name} must be a method, got ${quoteInput(member)}`);
  }
  return member;
}

/** The `store` option: a `Store`, each of whose methods is read once, here. */
function storeOption(value: unknown): Store {
  if (value === undefined) return new MemoryStore();
  if (value === null || typeof value !== 'object') {
    throw new ConfigError('BanHammer.store', `must be a Store, got ${quoteInput(value)}`);
  }
  for (const method of STORE_METHODS) {
    let member: unknown;
    try {
      member = (value as Record<string, unknown>)[method];
    } catch (error) {
      throw new ConfigError('BanHammer.store', `reading its ${method}() method threw`, {
        cause: error,
      });
    }
    if (typeof member !== 'function') {
      throw new ConfigError('BanHammer.store', `must implement Store (no ${method}() method)`);
    }
  }
  return value as Store;
}
