import { StoreError } from '../../errors.js';
import { integerOption } from '../../options.js';
import type { StatusEntry, TokenStatus } from '../stats.js';
import type { Decision, Store, StoreSetup } from '../store.js';
import { BLOCKING, HAS_ACTIONS, PASSED, type SyncDecisions, TRIPPED } from '../sync-decisions.js';
import { MemoryCore } from './core.js';

export interface MemoryStoreOptions {
  /**
   * Most (token, metric) pairs tracked at once. At the cap, a new pair evicts the least
   * recently active pair of its metric, passing over a few that hold a ban in force; an
   * evicted pair's counts (and, if every pair probed was banned, its ban) are forgotten.
   * Idle pairs are dropped on their own once nothing in them can matter, so the cap only
   * bites under a flood of distinct tokens.
   * @default 2_000_000 (about 200 MB at worst)
   */
  maxTokens?: number;
  /**
   * Pairs the hash index has room for up front (it grows by doubling). The records need no
   * hint: they reserve address space for `min(maxTokens, 4M)` pairs at once, which the system
   * commits page by page as pairs arrive. @default 1024
   */
  initialCapacity?: number;
  /** Pairs reported per batch by `scan()`. @default 1000 */
  scanBatch?: number;
}

const DEFAULT_MAX_TOKENS = 2_000_000;

/**
 * The embedded store: all state in this process, decisions synchronous underneath
 * (`core`), exact for every limit the configuration allows. The default store of a
 * `BanHammer`; one store serves one BanHammer.
 */
export class MemoryStore implements Store {
  readonly #options: MemoryStoreOptions;
  #core: MemoryCore | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (!(maxTokens >= 1) || (!Number.isInteger(maxTokens) && maxTokens !== Infinity)) {
      throw new StoreError(`MemoryStore maxTokens must be a positive integer, got ${maxTokens}`);
    }
    this.#options = { ...options, maxTokens };
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

  async open(setup: StoreSetup): Promise<void> {
    this.openSync(setup);
  }

  /** `open`, synchronously; returns the decisions the BanHammer then makes through it. */
  openSync(setup: StoreSetup): SyncDecisions {
    if (this.#core !== undefined || this.#closed) {
      throw new StoreError('MemoryStore is already bound to a BanHammer; give each its own store');
    }
    const coreOptions: { maxTokens: number; initialCapacity?: number } = {
      maxTokens: this.#options.maxTokens!,
    };
    if (this.#options.initialCapacity !== undefined) {
      coreOptions.initialCapacity = this.#options.initialCapacity;
    }
    this.#core = new MemoryCore(setup.metrics, setup.clock, coreOptions);
    return this.#core;
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
    return {
      passed: (flags & PASSED) !== 0,
      stats: {
        token_rate_1m: core.rates[0]!,
        token_rate_10m: core.rates[1]!,
        token_rate_60m: core.rates[2]!,
      },
      tripped,
      blocking,
    };
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
    const batchSize = this.#options.scanBatch ?? 1000;
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
