import type { Clock } from '../time/clock.js';
import type { Stats, StatusEntry, TokenStatus } from './stats.js';
import type { SyncDecisions } from './sync-decisions.js';

/*
 * Where BanHammer state lives. A store owns whole decisions: one `incr` counts the event,
 * evaluates every threshold of the metric, starts the bans it trips, updates the rates and
 * reports what happened, atomically. That is what lets the Redis store do it in one script
 * call, on the Redis server's clock, and the memory store do it synchronously without
 * allocating.
 *
 * The BanHammer validates everything first: stores receive a string token, a metric index and
 * a threshold index that exist, and never see allow- or deny-listed tokens.
 *
 * Every store must pass `test/store/conformance.ts`, unchanged.
 */

/** A threshold as a store needs it: no actions (those run in the BanHammer's process). */
export interface StoreThreshold {
  /** Trips when more than `limit` events fall in the last `windowSeconds`. */
  readonly limit: number;
  readonly windowSeconds: number;
  /** How long a trip blocks the token. */
  readonly durationSeconds: number;
  /**
   * A shadow threshold (`mode: 'shadow'` in the bans config) is counted, trips and reports
   * like any other (it appears in `tripped` and `blocking`, its ban end is kept so it trips
   * once per ban, not on every event), but it never refuses: it leaves `passed` alone and
   * never counts in `banMs`, `banMs(token)` or the token's bans on other metrics.
   */
  readonly shadow: boolean;
}

export interface StoreMetric {
  readonly name: string;
  readonly thresholds: readonly StoreThreshold[];
}

/** What a BanHammer hands its store once, before any other call. */
export interface StoreSetup {
  /** Metrics in configuration order; every call names a metric by its index here. */
  readonly metrics: readonly StoreMetric[];
  /** The BanHammer's clock. A store with a clock of its own (Redis `TIME`) may ignore it. */
  readonly clock: Clock;
  /** When true, every `Decision` carries `quota` (the guard's RateLimit fields on every
   *  response need it); otherwise a store may leave it out. @default false */
  readonly quota?: boolean;
}

/** The tightest enforcing threshold of a metric after a decision. */
export interface Quota {
  /** Its index in the metric. */
  readonly threshold: number;
  /** Events it still lets pass in its window: limit − events in (now − window, now], at
   *  least 0; 0 while its ban is in force. */
  readonly remaining: number;
  /** Ms until `remaining` grows: until the oldest event counted in the window leaves it, or
   *  while its ban is in force, until the ban ends; 0 when nothing is counted. */
  readonly resetMs: number;
}
// "Tightest" = the enforcing (non-shadow) threshold with the least `remaining`; ties go to
// the lowest index. No enforcing threshold → no quota (undefined).

/** The outcome of one counted event. */
export interface Decision {
  /** False while any ENFORCING threshold of the metric holds the token blocked (this event
   *  included). Shadow thresholds never make it false. */
  readonly passed: boolean;
  readonly stats: Stats;
  /** Thresholds this event tripped (shadow ones included). */
  readonly tripped: readonly number[];
  /** Thresholds whose ban was already in force (shadow ones included). */
  readonly blocking: readonly number[];
  /** Ms until every enforcing ban in force on the TOKEN, of ANY metric (this event's trips
   *  included), has ended; 0 when none. This is what makes "a ban is on the token". */
  readonly banMs: number;
  /** With `StoreSetup.quota`: the metric's tightest enforcing threshold after this event. */
  readonly quota?: Quota;
}

export interface Store {
  /** Binds the store to a configuration. Called once; a second call is a `StoreError`. */
  open(setup: StoreSetup): Promise<void>;
  /**
   * Optional, for stores whose state is in the process: binds the store like `open`, at once,
   * and returns its synchronous decisions (sync-decisions.ts). A BanHammer given such a store
   * opens it with this instead of `open`, and decides `incr` and `incrMany` through what it
   * returns; every other call still goes through the promises.
   */
  openSync?(setup: StoreSetup): SyncDecisions;
  /** Counts one event of `metric` for `token` and decides it. */
  incr(token: string, metric: number): Promise<Decision>;
  /** Starts a ban of `token` at `threshold` now (counting nothing); resolves the status after. */
  ban(token: string, metric: number, threshold: number): Promise<TokenStatus>;
  /** Lifts every ban and forgets every event of `token` for `metric`; the token's bans on
   *  other metrics stay (and `banMs` is what they make it). A store shared by several
   *  processes tells every process's `watchLifts` listener. */
  reset(token: string, metric: number): Promise<void>;
  /** Ms until every enforcing ban of `token`, on any metric, has ended; 0 when none.
   *  Counts nothing. */
  banMs(token: string): Promise<number>;
  /**
   * Optional, for a store shared by several processes: calls `listener(token)` whenever any
   * process (this one included) resets a pair of `token`, so a BanHammer can drop the token
   * from its deny cache. Called at most once per store (by its BanHammer, after open).
   */
  watchLifts?(listener: (token: string) => void): void;
  /** Rates and bans of `token` for `metric`; all zero and no bans when it is not tracked. */
  status(token: string, metric: number): Promise<TokenStatus>;
  /**
   * Every tracked (token, metric) pair with its status, streamed: memory held is bounded by a
   * batch, not by the number of tokens. Pairs created or dropped during the walk may or may
   * not appear; a pair present throughout appears exactly once.
   */
  scan(): AsyncIterable<StatusEntry>;
  /** Releases resources (connections, timers). The store is unusable afterwards. */
  close(): Promise<void>;
}
