import { ConfigError, quoteInput, StoreError } from '../errors.js';
import type { AddressFamily } from '../ip/address.js';
import {
  functionOption,
  integerOption,
  MAX_TIMEOUT_MS,
  numberOption,
  optionsObject,
  readOption,
  timeoutMsOption,
} from '../options.js';
import { Deadlines } from '../store/redis/deadline.js';
import { randomSeed } from '../tables/mix.js';
import { type Clock, ClockGuard, systemClock } from '../time/clock.js';
import type { CountObserver, IpTracker } from './ip-tracker.js';
import { IPv4Counts } from './ipv4-counts.js';
import { IPv6Counts } from './ipv6-counts.js';
import type { TopEntry } from './top-k.js';

/*
 * The IP tracker in a fleet. Every process keeps its own exact tracker; a FleetSync watches it
 * through the tracker's observer hook and, every `intervalSeconds`, sends the per-address
 * *deltas* since its last flush to a shared store (Redis: `store/redis/fleet-top-store.ts`),
 * where they add up to the fleet-wide counts of the period. `fleetTop(n)` reads them back.
 *
 * The hot path stays allocation-free: a counted address bumps a second pair of typed-array
 * count tables (the same ones the tracker uses) holding only the addresses touched since the
 * last flush. A flush swaps in fresh tables and turns the old ones into a batch.
 *
 * This module imports no Redis client: the store is an interface (`FleetTopStore`, below) that
 * the Redis store implements, so the dependency runs store → tracker (`store/redis` imports
 * this file, not the other way round) and the tracker can be synced to anything that can add
 * and rank. The one thing taken from `store/redis` is `deadline.ts`, which imports no client.
 * Every call into the store is bounded by `timeoutMs` here, whatever the store does (a Redis
 * store also bounds its own calls, by its own `timeoutMs`), so no flush, `fleetTop` or
 * `close` waits for good on a store that hangs.
 */

/** One address and the requests it made since the previous flush. */
export interface FleetDelta {
  family: AddressFamily;
  /** 1 word for IPv4, 4 for IPv6 (most significant first). */
  words: Uint32Array;
  count: number;
}

/** What one flush sends. */
export interface FleetBatch {
  /** Unique per batch: a store applies a batch that is sent again (a retry) only once. */
  readonly id: string;
  /** Start of the period the requests belong to (epoch ms). */
  readonly period: number;
  /** End of that period (epoch ms): the store keeps its totals one more period after it. */
  readonly periodEnd: number;
  readonly deltas: readonly FleetDelta[];
}

/** Where the fleet's totals live. */
export interface FleetTopStore {
  /** Adds a batch's deltas to its period's totals, exactly once per batch id. */
  add(batch: FleetBatch): Promise<void>;
  /** The `n` addresses with most requests in the period starting at `period`, best first,
   *  ties by address ascending (IPv4 before IPv6). */
  top(period: number, n: number): Promise<TopEntry[]>;
  /** Releases what the store opened itself. */
  close(): Promise<void>;
}

export interface FleetSyncOptions {
  store: FleetTopStore;
  /** Seconds between flushes: the staleness bound of `fleetTop`; more than 0, at most
   *  (2^31 − 1) / 1000 (the longest a Node timer waits). @default 5 */
  intervalSeconds?: number;
  /** Length of a period (the "day" of `fleetTop`), more than 0 and at most 10^9 s (period
   *  arithmetic on epoch milliseconds stays exact). @default 86400 */
  periodSeconds?: number;
  /** Where periods start, as an offset from the Unix epoch, within ±10^9 s.
   *  @default 0 (UTC midnight) */
  offsetSeconds?: number;
  /**
   * Epoch-millisecond clock that places flushes in periods, read under the clock rule of
   * `ClockGuard`: a reading that is not a finite number fails the flush (or `fleetTop`) with
   * `InvalidTimeError` and changes nothing; after a wild reading ahead, the clock's correction
   * puts what was counted meanwhile in the corrected period. @default Date.now
   */
  clock?: Clock;
  /**
   * Longest wait for each call into the store (`add` of a batch, `top`, `close`), from 1 to
   * 2^31 − 1 ms; past it the flush (or `fleetTop`, `close`) rejects with `StoreTimeoutError`
   * and the batch stays queued. @default 10000
   */
  timeoutMs?: number;
  /**
   * Batches kept while the store is unreachable; beyond this the oldest is dropped (and
   * counted in `stats.droppedBatches`), so an outage costs bounded memory.
   * @default 720 (an hour of 5-second flushes)
   */
  maxPendingBatches?: number;
  /** Called with every failed flush (the batch stays queued and is sent again; a flush that
   *  failed on the clock sent nothing). */
  onError?: (error: unknown) => void;
}

export interface FleetSyncStats {
  /** Batches the store accepted. */
  sentBatches: number;
  /** Flush attempts that failed. */
  failedFlushes: number;
  /** Batches waiting to be sent. */
  pendingBatches: number;
  /** Batches dropped because too many were waiting, or still waiting when `close()`'s last
   *  flush failed: their requests are lost to the fleet (unless a call that timed out was
   *  applied by the store after all). */
  droppedBatches: number;
}

/**
 * Sends a tracker's per-address deltas to a shared store every few seconds so that
 * `fleetTop(n)` answers the fleet-wide top N of the period.
 *
 * ```ts
 * const sync = new FleetSync(tracker, { store: new RedisFleetTopStore({ url }) }).start();
 * await sync.fleetTop(100);
 * ```
 */
export class FleetSync implements CountObserver {
  readonly #tracker: IpTracker;
  readonly #store: FleetTopStore;
  readonly #intervalMs: number;
  readonly #periodMs: number;
  readonly #offsetMs: number;
  readonly #clock: ClockGuard;
  readonly #maxPending: number;
  readonly #onError: (error: unknown) => void;
  readonly #deadlines: Deadlines;
  readonly #instance = randomId();
  #v4: IPv4Counts;
  #v6: IPv6Counts;
  /** Period of the requests in the current delta tables. */
  #period: number;
  #sequence = 0;
  readonly #pending: FleetBatch[] = [];
  #sending: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #stats: FleetSyncStats = {
    sentBatches: 0,
    failedFlushes: 0,
    pendingBatches: 0,
    droppedBatches: 0,
  };

  constructor(tracker: IpTracker, options: FleetSyncOptions) {
    options = optionsObject('FleetSync', options);
    const store: unknown = options.store;
    for (const method of ['add', 'top', 'close'] as const) {
      const member = readOption(
        'FleetSync.store',
        () => (store as Partial<FleetTopStore> | null | undefined)?.[method],
      );
      if (typeof member !== 'function') {
        throw new ConfigError(
          'FleetSync.store',
          `must implement FleetTopStore (add, top, close), got ${quoteInput(store)}`,
        );
      }
    }
    this.#store = store as FleetTopStore;
    this.#intervalMs =
      1000 *
      numberOption('FleetSync.intervalSeconds', options.intervalSeconds, 5, {
        above: 0,
        max: MAX_TIMEOUT_MS / 1000,
        unit: 'seconds',
      });
    this.#periodMs =
      1000 *
      numberOption('FleetSync.periodSeconds', options.periodSeconds, 86_400, {
        above: 0,
        max: MAX_PERIOD_SECONDS,
        unit: 'seconds',
      });
    this.#offsetMs =
      1000 *
      numberOption('FleetSync.offsetSeconds', options.offsetSeconds, 0, {
        min: -MAX_PERIOD_SECONDS,
        max: MAX_PERIOD_SECONDS,
        unit: 'seconds',
      });
    this.#clock = new ClockGuard(
      functionOption<Clock>(
        'FleetSync.clock',
        options.clock,
        systemClock,
        'returning epoch milliseconds',
      ),
    );
    this.#maxPending = integerOption(
      'FleetSync.maxPendingBatches',
      options.maxPendingBatches,
      720,
      1,
    );
    this.#onError = functionOption<(error: unknown) => void>(
      'FleetSync.onError',
      options.onError,
      () => {},
      'taking the error',
    );
    this.#deadlines = new Deadlines(
      timeoutMsOption('FleetSync.timeoutMs', options.timeoutMs, 10_000),
      'FleetSync.timeoutMs',
    );
    this.#v4 = new IPv4Counts(0, randomSeed());
    this.#v6 = new IPv6Counts(0, randomSeed());
    this.#period = this.#periodOf(this.#clock.read());
    tracker.observe(this);
    this.#tracker = tracker;
  }

  /** Starts flushing every `intervalSeconds` (the timer does not keep the process alive). */
  start(): this {
    if (this.#timer === undefined && !this.#closed) {
      this.#timer = setInterval(() => {
        this.flush().catch(() => {});
      }, this.#intervalMs);
      this.#timer.unref?.();
    }
    return this;
  }

  /**
   * Sends everything counted so far. Resolves once every queued batch reached the store, or
   * rejects with the store's error or `StoreTimeoutError` (the batches stay queued for the
   * next flush), or with `InvalidTimeError` when the clock's reading is not a number (nothing
   * is cut or sent: what was counted waits for a flush with a good reading).
   */
  async flush(): Promise<void> {
    let now: number;
    try {
      now = this.#clock.read();
    } catch (error) {
      this.#stats.failedFlushes++;
      this.#onError(error);
      throw error;
    }
    this.#cut(this.#periodOf(now));
    // One send at a time, in order; a flush during a send waits for it, then sends the rest.
    while (this.#sending !== undefined) await this.#sending.catch(() => {});
    if (this.#pending.length === 0) return;
    const sending = this.#sendPending();
    this.#sending = sending;
    try {
      await sending;
    } finally {
      this.#sending = undefined;
    }
  }

  /**
   * The fleet-wide top `n` of the current period (or, with `previous`, of the one before), as
   * of the last flush of every process: at most `intervalSeconds` plus a round trip stale.
   */
  fleetTop(n: number, options: { previous?: boolean } = {}): Promise<TopEntry[]> {
    let period: number;
    try {
      integerOption('FleetSync.fleetTop.n', n, 0, 0);
      period = this.#periodOf(this.#clock.read());
    } catch (error) {
      return Promise.reject(error);
    }
    if (options?.previous === true) period -= this.#periodMs;
    return this.#deadlines.bound('FleetSync fleetTop', this.#store.top(period, n));
  }

  get stats(): Readonly<FleetSyncStats> {
    this.#stats.pendingBatches = this.#pending.length;
    return this.#stats;
  }

  /**
   * Stops the timer, detaches from the tracker, makes a last flush and closes the store, each
   * bounded by `timeoutMs`. When the last flush fails, what it could not send is dropped
   * (counted in `stats.droppedBatches`) and `close()` rejects with a `StoreError` that says how
   * many batches and requests were lost, the flush's error as its `cause`; the store is closed
   * all the same. (A batch whose call timed out may still have reached the store.)
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#tracker.observe(null);
    let lost: StoreError | undefined;
    try {
      await this.flush();
    } catch (error) {
      lost = this.#dropUnsent(error);
    }
    const closing = this.#deadlines.bound('FleetSync close', this.#store.close());
    // The lost batches are the news; a store that also failed to close is their cause's kin.
    if (lost !== undefined) {
      await closing.catch(() => {});
      throw lost;
    }
    await closing;
  }

  countedV4(words: Uint32Array): void {
    const v4 = this.#v4;
    v4.increment(words, v4.hash(words[0]!));
  }

  countedV6(words: Uint32Array): void {
    const v6 = this.#v6;
    v6.increment(words, v6.hash(words));
  }

  cleared(): void {
    // The tracker starts a new period (a rollover): what it counted so far belongs to the
    // period that just ended, exactly, whatever the flush timer says.
    let next: number;
    try {
      next = this.#periodOf(this.#clock.read());
    } catch (error) {
      // Called from the tracker's request path, which must not throw: with no time to go by,
      // what was counted stays in the period it was counted in, and the next good reading
      // moves on.
      next = this.#period;
      this.#onError(error);
    }
    this.#cut(next);
  }

  /**
   * Turns the delta tables into a queued batch, and moves on to `next`. The batch's period is
   * the one its requests were counted in, or `next` when that is earlier: a clock corrected
   * after a wild reading ahead (`ClockGuard`) puts what was counted meanwhile at the corrected
   * time, never in a period that has not come.
   */
  #cut(next: number): void {
    const v4 = this.#v4;
    const v6 = this.#v6;
    if (v4.size + v6.size > 0) {
      const period = Math.min(this.#period, next);
      const deltas: FleetDelta[] = [];
      v4.visit((slots, base) => {
        deltas.push({ family: 4, words: slots.slice(base, base + 1), count: slots[base + 1]! });
      });
      v6.visit((slots, base) => {
        deltas.push({ family: 6, words: slots.slice(base, base + 4), count: slots[base + 4]! });
      });
      this.#pending.push({
        id: `${this.#instance}-${this.#sequence++}`,
        period,
        periodEnd: period + this.#periodMs,
        deltas,
      });
      if (this.#pending.length > this.#maxPending) {
        this.#pending.shift();
        this.#stats.droppedBatches++;
      }
      // Fresh tables sized for what the last interval saw, so the next one rarely grows.
      this.#v4 = new IPv4Counts(v4.size, randomSeed());
      this.#v6 = new IPv6Counts(v6.size, randomSeed());
    }
    this.#period = next;
  }

  async #sendPending(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending[0]!;
      try {
        await this.#deadlines.bound('FleetSync flush', this.#store.add(batch));
      } catch (error) {
        this.#stats.failedFlushes++;
        this.#onError(error);
        throw error;
      }
      // A batch dropped meanwhile (queue overflow) has already left the head.
      if (this.#pending[0] === batch) this.#pending.shift();
      this.#stats.sentBatches++;
    }
  }

  /** `close()`'s last flush failed: what it could not send is dropped, and said so. */
  #dropUnsent(cause: unknown): StoreError {
    let batches = this.#pending.length;
    let requests = 0;
    for (const batch of this.#pending) {
      for (const delta of batch.deltas) requests += delta.count;
    }
    // A flush that failed on the clock cut nothing: the tables still hold their requests.
    const counted = (slots: Uint32Array, base: number, at: number) => {
      requests += slots[base + at]!;
    };
    if (this.#v4.size + this.#v6.size > 0) {
      batches++;
      this.#v4.visit((slots, base) => counted(slots, base, 1));
      this.#v6.visit((slots, base) => counted(slots, base, 4));
    }
    this.#pending.length = 0;
    this.#stats.droppedBatches += batches;
    const message = cause instanceof Error ? cause.message : String(cause);
    return new StoreError(
      `FleetSync close: the last flush failed, so ${batches} batch(es) of ${requests} request(s) were not sent and are dropped: ${message}`,
      { cause },
    );
  }

  #periodOf(t: number): number {
    return Math.floor((t - this.#offsetMs) / this.#periodMs) * this.#periodMs + this.#offsetMs;
  }
}

/** Longest period and offset, in seconds: 10^9 s (≈ 31.7 years) keeps epoch-millisecond
 *  period arithmetic exact in doubles. */
const MAX_PERIOD_SECONDS = 1e9;

function randomId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 2 ** 48).toString(36)}`;
}
