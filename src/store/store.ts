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
}

/** The outcome of one counted event. */
export interface Decision {
  /** False while any threshold of the metric holds the token blocked (this event included). */
  readonly passed: boolean;
  /** Rates after counting this event. */
  readonly stats: Stats;
  /** Thresholds this event tripped: a new ban started; their actions run (once, fleet-wide). */
  readonly tripped: readonly number[];
  /** Thresholds whose ban was already in force: the event is refused and their actions re-run. */
  readonly blocking: readonly number[];
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
  /** Lifts every ban and forgets every event of `token` for `metric`. */
  reset(token: string, metric: number): Promise<void>;
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
