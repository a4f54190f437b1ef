import { ConfigError } from '../errors.js';
import type { AddressFamily } from '../ip/address.js';
import { type Clock, monotonic, systemClock } from '../time/clock.js';
import { randomSeed } from './hash.js';
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
 * This module imports no Redis client: the store is an interface, so the dependency runs
 * tracker → store and the tracker can be synced to anything that can add and rank.
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
  /** Seconds between flushes: the staleness bound of `fleetTop`. @default 5 */
  intervalSeconds?: number;
  /** Length of a period (the "day" of `fleetTop`). @default 86400 */
  periodSeconds?: number;
  /** Where periods start, as an offset from the Unix epoch. @default 0 (UTC midnight) */
  offsetSeconds?: number;
  /** Epoch-millisecond clock that places flushes in periods. @default Date.now */
  clock?: Clock;
  /**
   * Batches kept while the store is unreachable; beyond this the oldest is dropped (and
   * counted in `stats.droppedBatches`), so an outage costs bounded memory.
   * @default 720 (an hour of 5-second flushes)
   */
  maxPendingBatches?: number;
  /** Called with every failed flush (the batch stays queued and is sent again). */
  onError?: (error: unknown) => void;
}

export interface FleetSyncStats {
  /** Batches the store accepted. */
  sentBatches: number;
  /** Flush attempts that failed. */
  failedFlushes: number;
  /** Batches waiting to be sent. */
  pendingBatches: number;
  /** Batches dropped because too many were waiting (their requests are lost to the fleet). */
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
  readonly #clock: Clock;
  readonly #maxPending: number;
  readonly #onError: (error: unknown) => void;
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
    this.#store = options.store;
    this.#intervalMs = positiveSeconds(options.intervalSeconds, 5, 'intervalSeconds');
    this.#periodMs = positiveSeconds(options.periodSeconds, 86_400, 'periodSeconds');
    const offset = options.offsetSeconds ?? 0;
    if (!Number.isFinite(offset)) {
      throw new ConfigError('options.offsetSeconds', `must be a finite number, got ${offset}`);
    }
    this.#offsetMs = offset * 1000;
    this.#clock = monotonic(options.clock ?? systemClock);
    const maxPending = options.maxPendingBatches ?? 720;
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new ConfigError(
        'options.maxPendingBatches',
        `must be an integer ≥ 1, got ${maxPending}`,
      );
    }
    this.#maxPending = maxPending;
    this.#onError = options.onError ?? (() => {});
    this.#v4 = new IPv4Counts(0, randomSeed());
    this.#v6 = new IPv6Counts(0, randomSeed());
    this.#period = this.#periodOf(this.#clock());
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
   * rejects with the store's error (the batches stay queued for the next flush).
   */
  async flush(): Promise<void> {
    this.#cut(this.#periodOf(this.#clock()));
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
    if (!Number.isInteger(n) || n < 0) {
      return Promise.reject(new RangeError(`fleetTop(n): n must be an integer ≥ 0, got ${n}`));
    }
    let period = this.#periodOf(this.#clock());
    if (options.previous) period -= this.#periodMs;
    return this.#store.top(period, n);
  }

  get stats(): Readonly<FleetSyncStats> {
    this.#stats.pendingBatches = this.#pending.length;
    return this.#stats;
  }

  /** Stops the timer, detaches from the tracker, makes a last flush and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#tracker.observe(null);
    try {
      await this.flush();
    } finally {
      await this.#store.close();
    }
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
    this.#cut(this.#periodOf(this.#clock()));
  }

  /** Turns the delta tables into a queued batch of `#period`, and moves on to `next`. */
  #cut(next: number): void {
    const v4 = this.#v4;
    const v6 = this.#v6;
    if (v4.size + v6.size > 0) {
      const deltas: FleetDelta[] = [];
      v4.visit((slots, base) => {
        deltas.push({ family: 4, words: slots.slice(base, base + 1), count: slots[base + 1]! });
      });
      v6.visit((slots, base) => {
        deltas.push({ family: 6, words: slots.slice(base, base + 4), count: slots[base + 4]! });
      });
      this.#pending.push({
        id: `${this.#instance}-${this.#sequence++}`,
        period: this.#period,
        periodEnd: this.#period + this.#periodMs,
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
        await this.#store.add(batch);
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

  #periodOf(t: number): number {
    return Math.floor((t - this.#offsetMs) / this.#periodMs) * this.#periodMs + this.#offsetMs;
  }
}

function positiveSeconds(value: number | undefined, fallback: number, name: string): number {
  const seconds = value ?? fallback;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ConfigError(`options.${name}`, `must be a number of seconds > 0, got ${value}`);
  }
  return seconds * 1000;
}

function randomId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 2 ** 48).toString(36)}`;
}
