import { randomSeed } from '../../tables/mix.js';
import type { Clock } from '../../time/clock.js';
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
} from '../sync-decisions.js';
import { ClockHand } from './clock-hand.js';
import { EventRings } from './event-rings.js';
import {
  F_BLOCKED_UNTIL,
  F_EXPIRES_AT,
  I_FLAGS,
  I_HASH,
  I_METRIC,
  I_NEXT_FREE,
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
 * bucketed counters (event-rings.ts). This file decides, bans and keeps the free list.
 *
 * Memory. A slot's state can matter for `span` = max(longest window, longest ban, 1 hour)
 * after its last event or ban; past that (`expiresAt`) it is dead. A clock hand
 * (clock-hand.ts) walks the slots, two for each new pair, and frees the dead ones, so the
 * table can only grow while pairs stay alive; at the `maxTokens` cap it picks the pair a new
 * one replaces.
 *
 * Batches. Over many distinct tokens a decision waits mostly for one cache miss, in the index,
 * and `incr` cannot start the next token's before the current one is decided. `incrMany`
 * hashes a block of tokens first and loads their index positions (and the records those point
 * at) in a short loop of independent reads, so the misses overlap; it then decides the block
 * token by token with the same code as `incr`, on lines already in cache.
 */

/** Smallest ring a busy token gets, so tiny limits still keep exact rates a while. */
const MIN_RING = 16;
/** Pairs the index has room for at first, unless `initialCapacity` says otherwise. */
const INITIAL_SLOTS = 1024;
/** Slots the hand looks at for dead state per new pair: more than the one it takes. */
const SWEEP_PER_CALL = 2;
/**
 * Tokens `incrMany` prefetches and then decides at a time: enough independent cache misses
 * to keep the memory system busy, few enough that the first lines are still cached when
 * their turn comes.
 */
const BATCH_BLOCK = 64;

export interface MemoryCoreOptions {
  /** Most (token, metric) pairs kept; see clock-hand.ts for what is evicted. */
  maxTokens: number;
  /** Slots to allocate up front (grows by doubling). */
  initialCapacity?: number;
}

interface MetricTable {
  readonly name: string;
  readonly limits: Uint32Array;
  readonly windowsMs: Float64Array;
  readonly durationsMs: Float64Array;
  /** Size class of the largest ring: 2^ringClass ≥ max(limit) + 1. */
  readonly maxRingClass: number;
  /** How long after its last event a slot's state can still matter. */
  readonly spanMs: number;
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

function ceilLog2(n: number): number {
  let c = 0;
  while (1 << c < n) c++;
  return c;
}

export class MemoryCore implements SyncDecisions {
  /** Per threshold of the metric of the last `incr`: `NOT_HIT`, `TRIPPED` or `BLOCKING`. */
  readonly thresholdState: Uint8Array;
  /** `token_rate_1m`, `_10m`, `_60m`, written by `readRates`/`readLastRates`. */
  readonly rates = new Float64Array(3);

  readonly #source: Clock;
  /** The latest time seen, in a typed array: a double kept in a field or a closure would be
   *  boxed on every write, i.e. an allocation per call. */
  readonly #latest = new Float64Array(1);
  readonly #tables: MetricTable[];
  readonly #maxTokens: number;
  readonly #records: SlotRecords;
  readonly #tokens = new TokenChunks();
  readonly #index: TokenIndex;
  readonly #rings: EventRings;
  readonly #hand: ClockHand;
  /** Per-threshold ban ends of the slots that have been banned since they were created. */
  readonly #bans = new Map<number, Float64Array>();
  /** Random per core, so which tokens collide cannot be worked out in advance. */
  readonly #seed = randomSeed();

  #size = 0;
  #highWater = 0;
  #freeHead = NONE;
  /** The pair the last `incr` or `ban` touched (`NONE` once it is freed). */
  #lastSlot = NONE;
  #lastToken = '';
  #lastMetric = -1;

  constructor(metrics: readonly StoreMetric[], clock: Clock, options: MemoryCoreOptions) {
    this.#source = clock;
    this.#maxTokens = options.maxTokens;
    let maxThresholds = 0;
    let maxClass = 0;
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
      return { name: metric.name, limits, windowsMs, durationsMs, maxRingClass, spanMs };
    });
    this.thresholdState = new Uint8Array(maxThresholds);
    const initial = Math.max(
      16,
      Math.min(options.initialCapacity ?? INITIAL_SLOTS, this.#maxTokens),
    );
    this.#records = new SlotRecords(initial, this.#maxTokens);
    this.#rings = new EventRings(this.#records, maxClass + 1);
    // The index is hashed, so every page of it is written soon: it is sized for the pairs
    // expected, not for the records' reservation, and doubles as they come.
    this.#index = new TokenIndex(initial, this.#records, this.#tokens);
    this.#hand = new ClockHand(this.#records, (slot) => this.#drop(slot));
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

  /** Current time on the store's clock, never going backwards (see `time/clock.ts`). */
  now(): number {
    return this.#clock();
  }

  #clock(): number {
    const now = this.#source();
    const latest = this.#latest;
    if (now > latest[0]!) {
      latest[0] = now;
      return now;
    }
    return latest[0]!;
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
   * Counts one event and decides it. Returns `PASSED | HAS_ACTIONS` bits; when `HAS_ACTIONS`
   * is set, `thresholdState` says which thresholds tripped or held the token blocked.
   */
  incr(token: string, metric: number): number {
    const now = this.#clock();
    let slot = this.#lastSlot;
    // A flood from one token asks about the same pair again and again: skip the hash.
    if (slot === NONE || token !== this.#lastToken || metric !== this.#lastMetric) {
      slot = this.#locate(token, metric, hashOf(token, metric, this.#seed), now);
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
   * Batches). The decisions of a block of `BATCH_BLOCK` tokens share one clock reading.
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
    for (let start = 0; start < n; start += BATCH_BLOCK) {
      const end = Math.min(n, start + BATCH_BLOCK);
      hashBlock(tokens, start, end, metric, seed, hashes);
      this.#index.prefetch(hashes, end - start);
      const now = this.#clock();
      for (let i = start; i < end; i++) {
        const slot = this.#locate(tokens[i]!, metric, hashes[i - start]!, now);
        const flags = this.#decide(slot, table, now);
        out[i] = flags;
        if (rates !== undefined) {
          this.#rings.readRates(slot, now, this.rates);
          rates[3 * i] = this.rates[0]!;
          rates[3 * i + 1] = this.rates[1]!;
          rates[3 * i + 2] = this.rates[2]!;
        }
        if ((flags & HAS_ACTIONS) !== 0 && onActions !== undefined) onActions(i);
      }
    }
  }

  /** The slot of (token, metric), made if new; remembered for `incr`'s fast path. */
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
    const frec = slot << REC_SHIFT_F64;
    i32[(slot << REC_SHIFT_I32) + I_FLAGS] = IN_USE | REFERENCED;
    f64[frec + F_EXPIRES_AT] = now + table.spanMs;
    const rings = this.#rings;
    rings.push(slot, table.maxRingClass, now);
    const count = rings.count(slot);
    const bans = f64[frec + F_BLOCKED_UNTIL]! > now ? this.#bans.get(slot) : undefined;
    const state = this.thresholdState;
    const limits = table.limits;
    const windowsMs = table.windowsMs;
    let flags = PASSED;
    for (let i = 0; i < limits.length; i++) {
      if (bans !== undefined && bans[i]! > now) {
        state[i] = BLOCKING;
        flags = HAS_ACTIONS;
        continue;
      }
      const limit = limits[i]!;
      // Trips when the (limit+1)-th newest event is inside (now − window, now].
      if (count > limit && rings.eventBack(slot, limit) > now - windowsMs[i]!) {
        this.#startBan(slot, i, now + table.durationsMs[i]!);
        state[i] = TRIPPED;
        flags = HAS_ACTIONS;
      } else {
        state[i] = NOT_HIT;
      }
    }
    return flags;
  }

  /** Starts a ban of `token` at `threshold` now, without counting an event. */
  ban(token: string, metric: number, threshold: number): void {
    const now = this.#clock();
    const table = this.#tables[metric]!;
    const slot = this.#locate(token, metric, hashOf(token, metric, this.#seed), now);
    const { i32, f64 } = this.#records;
    i32[(slot << REC_SHIFT_I32) + I_FLAGS] = IN_USE | REFERENCED;
    const at = (slot << REC_SHIFT_F64) + F_EXPIRES_AT;
    f64[at] = Math.max(f64[at]!, now + table.spanMs);
    this.#startBan(slot, threshold, now + table.durationsMs[threshold]!);
  }

  /** Forgets `token` for `metric`: events, rates and bans. */
  reset(token: string, metric: number): void {
    const slot = this.#index.find(token, metric, hashOf(token, metric, this.#seed));
    if (slot !== NONE) this.#drop(slot);
  }

  /** Writes the rates of `token` for `metric` into `rates`; false (and zeros) if untracked. */
  readRates(token: string, metric: number): boolean {
    const slot = this.#index.find(token, metric, hashOf(token, metric, this.#seed));
    if (slot === NONE) {
      this.rates.fill(0);
      return false;
    }
    this.#rings.readRates(slot, this.#clock(), this.rates);
    return true;
  }

  /** Writes the rates of the pair that the last `incr` or `ban` touched into `rates`. */
  readLastRates(): void {
    this.#rings.readRates(this.#lastSlot, this.#clock(), this.rates);
  }

  /** Bans in force for `token` and `metric`, in threshold order (allocates: not a hot path). */
  bansOf(token: string, metric: number): Ban[] {
    const slot = this.#index.find(token, metric, hashOf(token, metric, this.#seed));
    const out: Ban[] = [];
    if (slot === NONE) return out;
    const now = this.#clock();
    const blocked = this.#records.f64[(slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL]! > now;
    const bans = blocked ? this.#bans.get(slot) : undefined;
    if (bans === undefined) return out;
    for (let i = 0; i < bans.length; i++) {
      if (bans[i]! > now) out.push({ threshold: i, until: bans[i]! });
    }
    return out;
  }

  /**
   * Visits tracked pairs from slot `from` on, at most `limit` of them, and returns the slot to
   * continue from (or -1 at the end). A pair that exists for the whole walk is visited exactly
   * once: slots never move while they are in use.
   */
  visit(from: number, limit: number, visitor: (token: string, metric: number) => void): number {
    const now = this.#clock();
    const { i32, f64 } = this.#records;
    let slot = from;
    let visited = 0;
    while (slot < this.#highWater && visited < limit) {
      const token = this.#tokens.at(slot);
      // Dead pairs the hand has not reached yet are not reported.
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
    return this.#hand.sweep(this.#clock(), steps, this.#highWater);
  }

  /** Bytes held in typed arrays (records, index, rings, buckets), all on shared buffers that
   *  `process.memoryUsage()` does not count; excludes token strings and the array that
   *  points at them. Records count up to the highest slot ever used: the rest of their
   *  reservation is address space the system has not committed. */
  get arrayBytes(): number {
    return this.#highWater * 64 + this.#index.bytes + this.#rings.bytes;
  }

  #startBan(slot: number, threshold: number, until: number): void {
    let bans = this.#bans.get(slot);
    if (bans === undefined) {
      const metric = this.#records.i32[(slot << REC_SHIFT_I32) + I_METRIC]!;
      bans = new Float64Array(this.#tables[metric]!.limits.length);
      this.#bans.set(slot, bans);
    }
    bans[threshold] = until;
    const f64 = this.#records.f64;
    const at = (slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL;
    if (until > f64[at]!) f64[at] = until;
  }

  #create(token: string, metric: number, hash: number, now: number): number {
    // Only new pairs make the table grow, so they pay for freeing the dead ones.
    this.#hand.sweep(now, SWEEP_PER_CALL, this.#highWater);
    if (this.#size >= this.#maxTokens) this.#hand.evict(now, this.#highWater);
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
    const frec = slot << REC_SHIFT_F64;
    i32[rec + I_HASH] = hash;
    i32[rec + I_METRIC] = metric;
    i32[rec + I_FLAGS] = IN_USE | REFERENCED;
    this.#rings.clear(slot);
    f64[frec + F_BLOCKED_UNTIL] = 0;
    f64[frec + F_EXPIRES_AT] = now + this.#tables[metric]!.spanMs;
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
    if (this.#bans.size !== 0) this.#bans.delete(slot);
    this.#tokens.set(slot, undefined);
    i32[rec + I_FLAGS] = 0;
    i32[rec + I_NEXT_FREE] = this.#freeHead;
    this.#freeHead = slot;
    this.#size--;
    if (this.#lastSlot === slot) this.#lastSlot = NONE;
  }
}
