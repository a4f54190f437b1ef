import { CapacityError } from '../../errors.js';
import { randomSeed } from '../../tables/mix.js';
import { type Clock, ClockGuard } from '../../time/clock.js';
import { LONGEST_RATE_WINDOW_MS } from '../rates.js';
import type { Ban } from '../stats.js';
import type { StoreMetric } from '../store.js';
import {
  BLOCKING,
  HAS_ACTIONS,
  NOT_HIT,
  PASSED,
  type SyncDecisions,
  TRIPPED,
  UNTRACKED,
} from '../sync-decisions.js';
import { BanEnds } from './ban-ends.js';
import { ClockHand } from './clock-hand.js';
import { EventRings } from './event-rings.js';
import { memoryOptions, type WhenFull } from './memory-options.js';
import {
  F_BLOCKED_UNTIL,
  F_EXPIRES_AT,
  I_FLAGS,
  I_HASH,
  I_METRIC,
  I_NEXT_FREE,
  I_SETTLED,
  IN_USE,
  NONE,
  REC_SHIFT_F64,
  REC_SHIFT_I32,
  REFERENCED,
  SlotRecords,
} from './records.js';
import { TokenChunks } from './token-chunks.js';
import { hashOf, TokenIndex } from './token-index.js';

/*
 * The memory store's synchronous core: every decision, in typed arrays, without allocating.
 *
 * A tracked (token, metric) pair is a *slot*: a 64-byte record (records.ts) plus its token
 * string (token-chunks.ts). A seeded hash index (token-index.ts) maps (token, metric) to its
 * slot. The slot's events sit in a ring, and its rates are read from the ring or from
 * bucketed counters (event-rings.ts); a banned slot's ban ends sit in a block of their own
 * (ban-ends.ts). This file decides, bans, settles slots after clock corrections and keeps
 * the free list.
 *
 * Memory. A slot's state can matter for `span` = max(longest window, longest ban, 1 hour)
 * after its last event or ban; past that (`expiresAt`) it is dead. A hand (clock-hand.ts)
 * frees the dead slots, two looked at per new pair, so the table can only grow while pairs
 * stay alive.
 *
 * Time. The clock is read under `ClockGuard`'s rule (docs/time.md). After the clock has been
 * corrected back, a slot's state stamped after now is settled when the slot is next touched
 * (`#settle`): the record keeps the correction count it was settled at, so the hot path pays
 * one integer compare.
 *
 * Floods. `maxTokens` caps the slots: at the cap, a new pair takes the slot of one that the
 * eviction hand picks (clock-hand.ts), never one holding a ban in force. When every slot the
 * hand looks at holds a ban in force, the table is taken as full of bans and the new pair is
 * not stored: by `whenFull`, its event is decided as that of a pair seen for the first time
 * and then forgotten (`'untracked'`, the default: the event passes unless a threshold's limit
 * is 0, whose actions then run without a ban being kept), or refused (`'refuse'`). Either way
 * `incr` reports `UNTRACKED` and `untracked` counts it.
 *
 * Batches. Over many distinct tokens a decision waits mostly for one cache miss, in the index,
 * and `incr` cannot start the next token's before the current one is decided. `incrMany`
 * hashes a block of tokens first and loads their index positions (and the records those point
 * at) in a short loop of independent reads, so the misses overlap; it then decides the block
 * token by token with the same code as `incr`, on lines already in cache.
 */

/** Smallest ring a busy token gets, so tiny limits still keep exact rates a while. */
const MIN_RING = 16;
/** Slots the dead-state hand looks at per new pair: more than the one it takes. */
const SWEEP_PER_CALL = 2;
/**
 * Tokens `incrMany` prefetches and then decides at a time: enough independent cache misses
 * to keep the memory system busy, few enough that the first lines are still cached when
 * their turn comes.
 */
const BATCH_BLOCK = 64;

/** The options of `MemoryStore` that the core uses (read by `memoryOptions`). */
export interface MemoryCoreOptions {
  /** Most (token, metric) pairs kept; see the file comment for what is evicted. */
  maxTokens?: number;
  /** Pairs the index has room for up front (it grows by doubling). */
  initialCapacity?: number;
  /** What a new pair meets when the table is full of bans (see Floods). */
  whenFull?: WhenFull;
}

interface MetricTable {
  readonly name: string;
  readonly limits: Uint32Array;
  readonly windowsMs: Float64Array;
  readonly durationsMs: Float64Array;
  /** Size class of the largest ring: 2^ringClass ≥ max(limit) + 1. */
  readonly maxRingClass: number;
  /** Size class of a block of ban ends: 2^banClass ≥ the number of thresholds. */
  readonly banClass: number;
  /** How long after its last event a slot's state can still matter. */
  readonly spanMs: number;
}

function ceilLog2(n: number): number {
  let c = 0;
  while (1 << c < n) c++;
  return c;
}

/** Hashes `tokens[start .. end)` into `hashes[0 ..]`. A function of its own so that the
 *  hashing loop is compiled tight without spending `incrMany`'s inlining budget. */
function hashBlock(
  tokens: ArrayLike<string>,
  start: number,
  end: number,
  metric: number,
  seed: number,
  hashes: Int32Array,
): void {
  for (let i = start; i < end; i++) hashes[i - start] = hashOf(tokens[i]!, metric, seed);
}

export class MemoryCore implements SyncDecisions {
  /** Per threshold of the metric of the last `incr`: `NOT_HIT`, `TRIPPED` or `BLOCKING`. */
  readonly thresholdState: Uint8Array;
  /** `token_rate_1m`, `_10m`, `_60m`, written by `readRates`/`readLastRates`. */
  readonly rates = new Float64Array(3);
  /** Per threshold of the decision being made: whether the events exceed its limit. */
  readonly #exceeded: Uint8Array;

  /** The store's clock under the one rule (docs/time.md): garbage is an InvalidTimeError
   *  thrown before anything changes, a large step back is a correction. */
  readonly #clock: ClockGuard;
  readonly #tables: MetricTable[];
  readonly #maxTokens: number;
  readonly #refuseWhenFull: boolean;
  readonly #records: SlotRecords;
  readonly #tokens = new TokenChunks();
  readonly #index: TokenIndex;
  readonly #rings: EventRings;
  readonly #bans: BanEnds;
  readonly #hand: ClockHand;
  /** Random per core, so which tokens collide cannot be worked out in advance. */
  readonly #seed = randomSeed();

  #size = 0;
  #highWater = 0;
  #freeHead = NONE;
  #untracked = 0;
  /** The pair the last `incr` or `ban` touched (`NONE` once it is freed). */
  #lastSlot = NONE;
  #lastToken = '';
  #lastMetric = -1;

  constructor(metrics: readonly StoreMetric[], clock: Clock, given?: MemoryCoreOptions) {
    const options = memoryOptions(given);
    this.#clock = new ClockGuard(clock);
    this.#maxTokens = options.maxTokens;
    this.#refuseWhenFull = options.whenFull === 'refuse';
    let maxThresholds = 0;
    let maxClass = 0;
    let maxBanClass = 0;
    this.#tables = metrics.map((metric) => {
      const count = metric.thresholds.length;
      maxThresholds = Math.max(maxThresholds, count);
      const limits = new Uint32Array(count);
      const windowsMs = new Float64Array(count);
      const durationsMs = new Float64Array(count);
      let maxLimit = 0;
      let spanMs = LONGEST_RATE_WINDOW_MS;
      metric.thresholds.forEach((threshold, i) => {
        limits[i] = threshold.limit;
        windowsMs[i] = threshold.windowSeconds * 1000;
        durationsMs[i] = threshold.durationSeconds * 1000;
        maxLimit = Math.max(maxLimit, threshold.limit);
        spanMs = Math.max(spanMs, windowsMs[i]!, durationsMs[i]!);
      });
      const maxRingClass = ceilLog2(Math.max(MIN_RING, maxLimit + 1));
      maxClass = Math.max(maxClass, maxRingClass);
      const banClass = ceilLog2(count);
      maxBanClass = Math.max(maxBanClass, banClass);
      return { name: metric.name, limits, windowsMs, durationsMs, maxRingClass, banClass, spanMs };
    });
    this.thresholdState = new Uint8Array(maxThresholds);
    this.#exceeded = new Uint8Array(maxThresholds);
    const initial = Math.max(16, options.initialCapacity);
    this.#records = new SlotRecords(initial, this.#maxTokens);
    this.#rings = new EventRings(this.#records, maxClass + 1);
    this.#bans = new BanEnds(this.#records, maxBanClass + 1);
    // The index is hashed, so every page of it is written soon: it is sized for the pairs
    // expected, not for the records' reservation, and doubles as they come.
    this.#index = new TokenIndex(initial, this.#records, this.#tokens);
    this.#hand = new ClockHand(this.#records, {
      settleIfCorrected: (slot, now) => this.#settleIfCorrected(slot, now),
      release: (slot) => this.#drop(slot),
    });
  }

  /** Tracked (token, metric) pairs. */
  get size(): number {
    return this.#size;
  }

  /** Slots freed because their state was dead / evicted because of `maxTokens`. */
  get expirations(): number {
    return this.#hand.expirations;
  }
  get evictions(): number {
    return this.#hand.evictions;
  }
  /** What a new pair meets when the table is full of bans (see Floods). */
  get whenFull(): WhenFull {
    return this.#refuseWhenFull ? 'refuse' : 'untracked';
  }
  /** Events decided without storing their new pair: the table was full of bans (`UNTRACKED`). */
  get untracked(): number {
    return this.#untracked;
  }

  /** Current time on the store's clock, under the rule of `ClockGuard` (docs/time.md). */
  now(): number {
    return this.#clock.read();
  }

  /** Times the clock has been corrected back (see `ClockGuard#corrections`). */
  get clockCorrections(): number {
    return this.#clock.corrections;
  }

  get metricCount(): number {
    return this.#tables.length;
  }

  metricName(metric: number): string {
    return this.#tables[metric]!.name;
  }

  /** Thresholds of `metric` (the readable prefix of `thresholdState`). */
  thresholdCount(metric: number): number {
    return this.#tables[metric]!.limits.length;
  }

  /**
   * Counts one event and decides it. Returns `PASSED | HAS_ACTIONS | UNTRACKED` bits; when
   * `HAS_ACTIONS` is set, `thresholdState` says which thresholds tripped or held the token
   * blocked.
   */
  incr(token: string, metric: number): number {
    const now = this.#clock.read();
    let slot = this.#lastSlot;
    // A flood from one token asks about the same pair again and again: skip the hash.
    if (slot === NONE || token !== this.#lastToken || metric !== this.#lastMetric) {
      slot = this.#locate(token, metric, hashOf(token, metric, this.#seed), now);
      if (slot === NONE) return this.#decideUntracked(this.#tables[metric]!);
    }
    return this.#decide(slot, this.#tables[metric]!, now);
  }

  /**
   * Counts and decides `tokens.length` events of `metric`, in order: `out[i]` gets what
   * `incr(tokens[i], metric)` would have returned, and when it has `HAS_ACTIONS`,
   * `onActions(i)` is called at once, while `thresholdState` holds that decision's states.
   * With `rates` (at least 3 × `tokens.length` long), `rates[3i .. 3i + 2]` get the token's
   * rates right after its event, as `readLastRates` would have read them. Afterwards
   * `readLastRates` reads the pair of the last token.
   *
   * On many distinct tokens this is faster than `incr` in a loop (see the file comment,
   * Batches). The whole batch shares one clock reading, taken before anything is counted: a
   * clock that returns garbage throws `InvalidTimeError` and the batch changes nothing.
   */
  incrMany(
    tokens: ArrayLike<string>,
    metric: number,
    out: Uint8Array,
    onActions?: (i: number) => void,
    rates?: Float64Array,
  ): void {
    const n = tokens.length;
    if (out.length < n) {
      throw new RangeError(`incrMany: out holds ${out.length} results, tokens ${n}`);
    }
    if (rates !== undefined && rates.length < 3 * n) {
      throw new RangeError(`incrMany: rates holds ${rates.length} numbers, 3 × ${n} needed`);
    }
    const table = this.#tables[metric]!;
    // Per call rather than a field, so that an `onActions` that starts another batch cannot
    // overwrite this one's hashes.
    const hashes = new Int32Array(Math.min(n, BATCH_BLOCK));
    const seed = this.#seed;
    const now = this.#clock.read();
    for (let start = 0; start < n; start += BATCH_BLOCK) {
      const end = Math.min(n, start + BATCH_BLOCK);
      hashBlock(tokens, start, end, metric, seed, hashes);
      this.#index.prefetch(hashes, end - start);
      for (let i = start; i < end; i++) {
        const slot = this.#locate(tokens[i]!, metric, hashes[i - start]!, now);
        const flags = slot === NONE ? this.#decideUntracked(table) : this.#decide(slot, table, now);
        out[i] = flags;
        if (rates !== undefined) {
          if (slot !== NONE) this.#readRates(slot, now);
          rates[3 * i] = this.rates[0]!;
          rates[3 * i + 1] = this.rates[1]!;
          rates[3 * i + 2] = this.rates[2]!;
        }
        if ((flags & HAS_ACTIONS) !== 0 && onActions !== undefined) onActions(i);
      }
    }
  }

  /** The slot of (token, metric), made if new, remembered for `incr`'s fast path; `NONE`
   *  when the table is full of bans (see Floods). */
  #locate(token: string, metric: number, hash: number, now: number): number {
    let slot = this.#index.find(token, metric, hash);
    if (slot === NONE) slot = this.#create(token, metric, hash, now);
    this.#lastSlot = slot;
    this.#lastToken = token;
    this.#lastMetric = metric;
    return slot;
  }

  /** Counts an event at `now` on `slot` and decides it (see `incr`). */
  #decide(slot: number, table: MetricTable, now: number): number {
    const { i32, f64 } = this.#records;
    const rec = slot << REC_SHIFT_I32;
    const frec = slot << REC_SHIFT_F64;
    if (i32[rec + I_SETTLED] !== this.#clock.corrections) this.#settle(slot, now);
    i32[rec + I_FLAGS] = IN_USE | REFERENCED;
    f64[frec + F_EXPIRES_AT] = now + table.spanMs;
    this.#rings.push(slot, table.maxRingClass, now);
    const exceeded = this.#exceeded;
    this.#rings.exceeded(slot, table.limits, table.windowsMs, now, exceeded);
    const blocked = f64[frec + F_BLOCKED_UNTIL]! > now;
    const state = this.thresholdState;
    const count = table.limits.length;
    let flags = PASSED;
    for (let i = 0; i < count; i++) {
      if (blocked && this.#bans.endOf(slot, table.banClass, i) > now) {
        state[i] = BLOCKING;
        flags = HAS_ACTIONS;
      } else if (exceeded[i] === 1) {
        this.#bans.start(slot, table.banClass, i, now + table.durationsMs[i]!);
        state[i] = TRIPPED;
        flags = HAS_ACTIONS;
      } else {
        state[i] = NOT_HIT;
      }
    }
    return flags;
  }

  /**
   * An event whose new pair the table, full of bans, could not store: by `whenFull`, decided
   * as the first event of a pair (only a limit of 0 trips) or refused. Its rates read as
   * those of a pair seen once.
   */
  #decideUntracked(table: MetricTable): number {
    this.#untracked++;
    this.rates.fill(1);
    const state = this.thresholdState;
    const limits = table.limits;
    let flags = this.#refuseWhenFull ? UNTRACKED : PASSED | UNTRACKED;
    for (let i = 0; i < limits.length; i++) {
      if (!this.#refuseWhenFull && limits[i] === 0) {
        state[i] = TRIPPED;
        flags = HAS_ACTIONS | UNTRACKED;
      } else state[i] = NOT_HIT;
    }
    return flags;
  }

  /** Starts a ban of `token` at `threshold` now, without counting an event. Throws
   *  `CapacityError` when the table is full of bans and the pair is new. */
  ban(token: string, metric: number, threshold: number): void {
    const now = this.#clock.read();
    const table = this.#tables[metric]!;
    const slot = this.#locate(token, metric, hashOf(token, metric, this.#seed), now);
    if (slot === NONE) {
      throw new CapacityError(
        'MemoryStore.maxTokens',
        `${this.#maxTokens} pairs are held, all with a ban in force: a new ban cannot be kept`,
      );
    }
    this.#settleIfCorrected(slot, now);
    const { i32, f64 } = this.#records;
    i32[(slot << REC_SHIFT_I32) + I_FLAGS] = IN_USE | REFERENCED;
    const at = (slot << REC_SHIFT_F64) + F_EXPIRES_AT;
    f64[at] = Math.max(f64[at]!, now + table.spanMs);
    this.#bans.start(slot, table.banClass, threshold, now + table.durationsMs[threshold]!);
  }

  /** Forgets `token` for `metric`: events, rates and bans. */
  reset(token: string, metric: number): void {
    const slot = this.#index.find(token, metric, hashOf(token, metric, this.#seed));
    if (slot !== NONE) this.#drop(slot);
  }

  /** Writes the rates of `token` for `metric` into `rates`; false (and zeros) if untracked. */
  readRates(token: string, metric: number): boolean {
    // Read first, tracked or not, so a clock returning garbage fails every call alike.
    const now = this.#clock.read();
    const slot = this.#index.find(token, metric, hashOf(token, metric, this.#seed));
    if (slot === NONE) {
      this.rates.fill(0);
      return false;
    }
    this.#readRates(slot, now);
    return true;
  }

  /** Writes the rates of the pair that the last `incr` or `ban` touched into `rates` (after an
   *  `UNTRACKED` event, those of a pair seen once, as `incr` left them). */
  readLastRates(): void {
    const now = this.#clock.read();
    if (this.#lastSlot !== NONE) this.#readRates(this.#lastSlot, now);
  }

  /** Bans in force for `token` and `metric`, in threshold order (allocates: not a hot path). */
  bansOf(token: string, metric: number): Ban[] {
    const now = this.#clock.read();
    const slot = this.#index.find(token, metric, hashOf(token, metric, this.#seed));
    const out: Ban[] = [];
    if (slot === NONE) return out;
    this.#settleIfCorrected(slot, now);
    if (!(this.#records.f64[(slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL]! > now)) return out;
    const table = this.#tables[metric]!;
    for (let i = 0; i < table.limits.length; i++) {
      const until = this.#bans.endOf(slot, table.banClass, i);
      if (until > now) out.push({ threshold: i, until });
    }
    return out;
  }

  /**
   * Visits tracked pairs from slot `from` on, at most `limit` of them, and returns the slot to
   * continue from (or -1 at the end). A pair that exists for the whole walk is visited exactly
   * once: slots never move while they are in use.
   */
  visit(from: number, limit: number, visitor: (token: string, metric: number) => void): number {
    const now = this.#clock.read();
    let slot = from;
    let visited = 0;
    while (slot < this.#highWater && visited < limit) {
      const token = this.#tokens.at(slot);
      if (token !== undefined) this.#settleIfCorrected(slot, now);
      // Dead pairs the hand has not reached yet are not reported.
      const { i32, f64 } = this.#records;
      if (token !== undefined && f64[(slot << REC_SHIFT_F64) + F_EXPIRES_AT]! > now) {
        visitor(token, i32[(slot << REC_SHIFT_I32) + I_METRIC]!);
        visited++;
      }
      slot++;
    }
    return slot < this.#highWater ? slot : NONE;
  }

  /** Looks at up to `steps` slots for dead state and frees it; returns how many it freed. */
  sweep(steps: number): number {
    return this.#hand.sweep(this.#clock.read(), steps, this.#highWater);
  }

  /** Bytes held in typed arrays (records, index, rings, buckets, ban ends), all on shared
   *  buffers that `process.memoryUsage()` does not count; excludes token strings and the
   *  array that points at them. Records count up to the highest slot ever used: the rest of
   *  their reservation is address space the system has not committed. */
  get arrayBytes(): number {
    return this.#highWater * 64 + this.#index.bytes + this.#rings.bytes + this.#bans.bytes;
  }

  #readRates(slot: number, now: number): void {
    this.#settleIfCorrected(slot, now);
    this.#rings.readRates(slot, now, this.rates);
  }

  #settleIfCorrected(slot: number, now: number): void {
    if (this.#records.i32[(slot << REC_SHIFT_I32) + I_SETTLED] !== this.#clock.corrections) {
      this.#settle(slot, now);
    }
  }

  /**
   * The clock has been corrected back since the slot was last touched (docs/time.md): state
   * stamped after `now` counts as stamped at `now`. Events move to now, a ban lasts at most
   * its duration from now, and the slot expires at most a span from now. Done once per slot
   * and correction, when the slot is next touched: the hot path only compares the slot's
   * generation with the clock's.
   */
  #settle(slot: number, now: number): void {
    const { i32, f64 } = this.#records;
    const rec = slot << REC_SHIFT_I32;
    const frec = slot << REC_SHIFT_F64;
    i32[rec + I_SETTLED] = this.#clock.corrections;
    const table = this.#tables[i32[rec + I_METRIC]!]!;
    this.#rings.settle(slot, now);
    this.#bans.settle(slot, table.banClass, table.durationsMs, now);
    f64[frec + F_EXPIRES_AT] = Math.min(f64[frec + F_EXPIRES_AT]!, now + table.spanMs);
  }

  #create(token: string, metric: number, hash: number, now: number): number {
    // Only new pairs make the table grow, so they pay for freeing the dead ones.
    this.#hand.sweep(now, SWEEP_PER_CALL, this.#highWater);
    if (this.#size >= this.#maxTokens && !this.#hand.evict(now, this.#highWater)) return NONE;
    const records = this.#records;
    let slot: number;
    if (this.#freeHead !== NONE) {
      slot = this.#freeHead;
      this.#freeHead = records.i32[(slot << REC_SHIFT_I32) + I_NEXT_FREE]!;
    } else {
      if (this.#highWater === records.capacity) {
        records.grow(Math.min(records.capacity * 2, Math.max(this.#maxTokens, 16)));
      }
      slot = this.#highWater++;
    }
    const { i32, f64 } = records;
    const rec = slot << REC_SHIFT_I32;
    i32[rec + I_HASH] = hash;
    i32[rec + I_METRIC] = metric;
    i32[rec + I_FLAGS] = IN_USE | REFERENCED;
    i32[rec + I_SETTLED] = this.#clock.corrections;
    this.#rings.clear(slot);
    this.#bans.clear(slot);
    f64[(slot << REC_SHIFT_F64) + F_EXPIRES_AT] = now + this.#tables[metric]!.spanMs;
    this.#tokens.set(slot, token);
    this.#size++;
    this.#index.insert(slot, hash, this.#size);
    return slot;
  }

  /** Frees a slot. */
  #drop(slot: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    this.#index.remove(slot, i32[rec + I_HASH]!);
    this.#rings.release(slot);
    this.#bans.release(slot, this.#tables[i32[rec + I_METRIC]!]!.banClass);
    this.#tokens.set(slot, undefined);
    i32[rec + I_FLAGS] = 0;
    // After the index removal: the free-list link shares the hash's word.
    i32[rec + I_NEXT_FREE] = this.#freeHead;
    this.#freeHead = slot;
    this.#size--;
    if (this.#lastSlot === slot) this.#lastSlot = NONE;
  }
}
