import { StoreError } from '../../errors.js';
import { integerOption } from '../../options.js';
import type { StateExport, StateImage } from '../../persist/state-image.js';
import type { StatusEntry, TokenStatus } from '../stats.js';
import type { Decision, Store, StoreMetric, StoreSetup } from '../store.js';
import { BLOCKING, HAS_ACTIONS, PASSED, type SyncDecisions, TRIPPED } from '../sync-decisions.js';
import { MemoryCore } from './core.js';
import {
  checkMemoryImage,
  type MemoryImage,
  type MemoryPairs,
  type MemoryRestoreReport,
  memoryImage,
  PairColumns,
  sameThresholds,
} from './memory-image.js';
import { type MemoryOptions, memoryOptions, type WhenFull } from './memory-options.js';

export type { MemoryRestoreReport } from './memory-image.js';

export interface MemoryStoreOptions {
  /**
   * Most (token, metric) pairs tracked at once, over all metrics. At the cap, a new pair
   * takes the slot of a pair not used lately, picked by one CLOCK hand over the whole table
   * (every metric); an evicted pair's counts are forgotten. A pair holding a ban in force is
   * never evicted (see `whenFull` for a table full of bans). Idle pairs are dropped on their
   * own once nothing in them can matter, so the cap only bites under a flood of distinct
   * tokens. An integer from 1 to 2^26; `Infinity` means 2^26.
   * @default 2_000_000 (about 140 MB for 2M pairs seen once or banned, plus their token
   * strings; a busy pair adds up to 8 bytes per event its largest limit must remember)
   */
  maxTokens?: number;
  /**
   * What a new pair meets when the table is at `maxTokens` and every slot the eviction hand
   * looks at holds a ban in force (bans are never evicted): `'untracked'` decides its event as
   * the first event of a pair and forgets it (it passes unless a threshold's limit is 0, whose
   * actions then run without a ban being kept); `'refuse'` refuses it. Either way the
   * BanHammer counts it in `counters.untracked` and reports `store_full`. @default 'untracked'
   */
  whenFull?: WhenFull;
  /**
   * Pairs the hash index has room for up front (it grows by doubling). The records need no
   * hint: they reserve address space for `min(maxTokens, 4M)` pairs at once, which the system
   * commits page by page as pairs arrive. @default 1024
   */
  initialCapacity?: number;
  /** Pairs reported per batch by `scan()`, an integer ≥ 1. @default 1000 */
  scanBatch?: number;
}

/**
 * The embedded store: all state in this process, decisions synchronous underneath
 * (`core`), exact for every limit the configuration allows. The default store of a
 * `BanHammer`; one store serves one BanHammer.
 */
export class MemoryStore implements Store {
  readonly #options: MemoryOptions;
  #core: MemoryCore | undefined;
  /** `StoreSetup.quota`: whether `incr`'s decisions carry their quota. */
  #quota = false;
  #closed = false;
  /** The metrics `open` was given, named in an export. */
  #metrics: readonly StoreMetric[] = [];
  /** An image `loadState` checked, applied by `open`. */
  #pending: MemoryImage | undefined;
  #restoreReport: MemoryRestoreReport | undefined;

  /** Throws `ConfigError` (path `MemoryStore.<option>`) for an option it cannot use. */
  constructor(options?: MemoryStoreOptions) {
    this.#options = memoryOptions(options);
  }

  /**
   * The synchronous core, for this package's own tests and benchmarks.
   * @internal
   */
  get core(): MemoryCore {
    if (this.#core === undefined) {
      throw new StoreError(this.#closed ? 'MemoryStore is closed' : 'MemoryStore is not open');
    }
    return this.#core;
  }

  /** Tracked (token, metric) pairs. */
  get size(): number {
    return this.#core?.size ?? 0;
  }

  /**
   * Looks at up to `steps` pairs for state that can no longer matter and frees it; returns
   * how many it freed. Every new pair already does this for two, so only a process that has
   * gone idle after a flood needs to call it, on its own schedule.
   */
  sweep(steps: number): number {
    return this.core.sweep(integerOption('MemoryStore.sweep.steps', steps, 0, 0));
  }

  /**
   * Bytes the store holds in typed arrays (records, index, rings, rate buckets, ban ends),
   * outside the JS heap, so `process.memoryUsage()` does not show them; token strings are
   * not included. 0 until the store is opened.
   */
  get arrayBytes(): number {
    return this.#core?.arrayBytes ?? 0;
  }

  /** Pairs evicted to make room at `maxTokens` (never one holding a ban in force). */
  get evictions(): number {
    return this.#core?.evictions ?? 0;
  }

  /** Events decided without storing their new pair, the table being full of bans
   *  (`whenFull`); the BanHammer counts the same in `counters.untracked`. */
  get untracked(): number {
    return this.#core?.untracked ?? 0;
  }

  async open(setup: StoreSetup): Promise<void> {
    this.openSync(setup);
  }

  /** `open`, synchronously; returns the decisions the BanHammer then makes through it. */
  openSync(setup: StoreSetup): SyncDecisions {
    if (this.#core !== undefined || this.#closed) {
      throw new StoreError('MemoryStore is already bound to a BanHammer; give each its own store');
    }
    const core = new MemoryCore(setup.metrics, setup.clock, this.#options);
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      this.#restoreReport = restore(core, pending, setup.metrics);
    }
    this.#core = core;
    this.#metrics = setup.metrics;
    this.#quota = setup.quota === true;
    return core;
  }

  /**
   * The whole state as a `StateImage` (layout in memory-image.ts): every live pair's token,
   * metric (by name), ring of timestamps, bucketed rates and per-threshold ban ends (shadow
   * ones included), with absolute epoch-ms times, and the eviction counters. A copy made
   * synchronously (linear in the pairs: tens of milliseconds per million), so `release` has
   * nothing to do. Throws `StoreError` unless the store is open.
   */
  exportState(): StateExport {
    const core = this.core;
    const takenAt = core.now();
    const corrections = core.clockCorrections;
    const columns = new PairColumns(core.size);
    core.exportSlots(0, Number.POSITIVE_INFINITY, columns);
    return this.#image(core, takenAt, core.finishExport(columns, corrections, false));
  }

  /**
   * `exportState` without the stall: the slots are read `slotsPerSlice` at a time, one range
   * per macrotask, so requests are decided in between (a million pairs took ~0.1–0.2 s in one
   * go). Pairs are independent, so the image is still one the store could have held: each
   * pair as it was when its slot was read, the layout (free slots, hands, counters) as at the
   * end; a pair made after the walk passed its slot is left out, as if the save had come just
   * before it; a slot freed (reset, expired, evicted) or settled after a clock correction
   * once read is read again at the end, as it is then. That last step copies the columns
   * once, synchronously (~0.2 s per million pairs), so when pairs were freed during the walk
   * (resets, expiry sweeps, evictions) the final macrotask is not short: a known limit.
   * Rejects with `StoreError` if the store is closed meanwhile.
   */
  async exportStateInSlices(slotsPerSlice = 16_384): Promise<StateExport> {
    const core = this.core;
    const slice = integerOption(
      'MemoryStore.exportStateInSlices.slotsPerSlice',
      slotsPerSlice,
      16_384,
      1,
    );
    const corrections = core.clockCorrections;
    const columns = new PairColumns(core.size);
    if (!core.watchDrops()) {
      throw new StoreError('MemoryStore.exportStateInSlices: another one is running');
    }
    try {
      let from = 0;
      for (;;) {
        const next = core.exportSlots(from, from + slice, columns);
        if (next === from) break;
        from = next;
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#core !== core) {
          throw new StoreError('MemoryStore closed during exportStateInSlices');
        }
      }
      const takenAt = core.now();
      return this.#image(core, takenAt, core.finishExport(columns, corrections, true));
    } finally {
      core.unwatchDrops();
    }
  }

  #image(core: MemoryCore, takenAt: number, pairs: MemoryPairs): StateExport {
    const image = memoryImage(
      takenAt,
      this.#metrics,
      { evictions: core.evictions, expirations: core.expirations, untracked: core.untracked },
      pairs,
    );
    return { image, release: () => {} };
  }

  /**
   * Restores an image from `exportState` into this store, which must not be open yet: the
   * image is checked now (a malformed one is a `SnapshotError` naming the part, and the store
   * stays empty) and applied when the BanHammer opens the store, once the config's metrics
   * are known. Metrics are matched by name, so a config that reorders them loads the same;
   * what `open` dropped or changed is in `restoreReport`. Times are absolute: whatever
   * expired while the store was down is dropped, and bans end when they would have. Each
   * pair is re-hashed with the new store's seed. Throws `StoreError` once the store is open.
   */
  loadState(image: StateImage): void {
    if (this.#core !== undefined || this.#closed) {
      throw new StoreError(
        'MemoryStore.loadState: the store is already open; load it before the BanHammer opens it',
      );
    }
    this.#pending = checkMemoryImage(image);
  }

  /** What `open` made of the image given to `loadState`; `undefined` without one. */
  get restoreReport(): MemoryRestoreReport | undefined {
    return this.#restoreReport;
  }

  async incr(token: string, metric: number): Promise<Decision> {
    const core = this.core;
    const flags = core.incr(token, metric);
    const tripped: number[] = [];
    const blocking: number[] = [];
    if ((flags & HAS_ACTIONS) !== 0) {
      const state = core.thresholdState;
      const count = core.thresholdCount(metric);
      for (let i = 0; i < count; i++) {
        if (state[i] === TRIPPED) tripped.push(i);
        else if (state[i] === BLOCKING) blocking.push(i);
      }
    }
    core.readLastRates();
    const stats = {
      token_rate_1m: core.rates[0]!,
      token_rate_10m: core.rates[1]!,
      token_rate_60m: core.rates[2]!,
    };
    const passed = (flags & PASSED) !== 0;
    const banMs = core.readLastBanMs();
    if (!this.#quota) return { passed, stats, tripped, blocking, banMs };
    core.readLastQuota();
    if (core.quota[0]! < 0) return { passed, stats, tripped, blocking, banMs };
    const quota = { threshold: core.quota[0]!, remaining: core.quota[1]!, resetMs: core.quota[2]! };
    return { passed, stats, tripped, blocking, banMs, quota };
  }

  async banMs(token: string): Promise<number> {
    return this.core.banMs(token);
  }

  async ban(token: string, metric: number, threshold: number): Promise<TokenStatus> {
    this.core.ban(token, metric, threshold);
    return this.statusSync(token, metric);
  }

  async reset(token: string, metric: number): Promise<void> {
    this.core.reset(token, metric);
  }

  async status(token: string, metric: number): Promise<TokenStatus> {
    return this.statusSync(token, metric);
  }

  /** `status`, synchronously. */
  statusSync(token: string, metric: number): TokenStatus {
    const core = this.core;
    core.readRates(token, metric);
    const bans = core.bansOf(token, metric);
    let blockedUntil: number | null = null;
    for (const ban of bans)
      if (blockedUntil === null || ban.until > blockedUntil) blockedUntil = ban.until;
    return {
      token_rate_1m: core.rates[0]!,
      token_rate_10m: core.rates[1]!,
      token_rate_60m: core.rates[2]!,
      blocked_until: blockedUntil,
      bans,
    };
  }

  async *scan(): AsyncGenerator<StatusEntry> {
    const batchSize = this.#options.scanBatch;
    let from = 0;
    while (from !== -1) {
      const core = this.core;
      const batch: StatusEntry[] = [];
      from = core.visit(from, batchSize, (token, metric) => {
        batch.push({
          token,
          metric: core.metricName(metric),
          status: this.statusSync(token, metric),
        });
      });
      yield* batch;
      // Let the event loop breathe between batches so a huge table never stalls it.
      if (from !== -1) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    this.#core = undefined;
    this.#closed = true;
  }
}

/** Applies a checked image to a fresh core: the image's metrics matched to the config's by name. */
function restore(
  core: MemoryCore,
  image: MemoryImage,
  metrics: readonly StoreMetric[],
): MemoryRestoreReport {
  const byName = new Map<string, number>();
  for (const [i, metric] of metrics.entries()) byName.set(metric.name, i);
  const metricOf = new Int32Array(image.metrics.length);
  const changed = new Uint8Array(image.metrics.length);
  const droppedMetrics: string[] = [];
  const changedMetrics: string[] = [];
  image.metrics.forEach((saved, m) => {
    const now = byName.get(saved.name);
    metricOf[m] = now ?? -1;
    if (now === undefined) droppedMetrics.push(saved.name);
    else if (!sameThresholds(saved, metrics[now]!)) {
      changed[m] = 1;
      changedMetrics.push(saved.name);
    }
  });
  const counts = core.restorePairs(image, metricOf, changed);
  return {
    takenAt: image.takenAt,
    pairs: counts.pairs,
    expired: counts.expired,
    overCap: counts.overCap,
    droppedMetrics,
    droppedPairs: counts.dropped,
    changedMetrics,
  };
}
