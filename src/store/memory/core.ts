import { CapacityError, ConfigError } from '../../errors.js';
import { type SharedInt32Array, sharedInt32 } from '../../shared-arrays.js';
import { MIGRATION_STEP } from '../../tables/incremental-doubling.js';
import { mix32, randomSeed } from '../../tables/mix.js';
import { placePair, removePair, sortByHome } from '../../tables/pair-index.js';
import { type Clock, ClockGuard } from '../../time/clock.js';
import { LONGEST_RATE_WINDOW_MS, RATE_WINDOWS_SECONDS } from '../rates.js';
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
import { encodeTokens, type MemoryImage, type MemoryPairs, PairColumns } from './memory-image.js';
import { memoryOptions, type WhenFull } from './memory-options.js';
import { PER_BLOCK, RateBuckets, WINDOWS } from './rate-buckets.js';
import { RingPool } from './ring-pool.js';

/*
 * The memory store's synchronous core: every decision, in typed arrays, without allocating.
 *
 * A tracked (token, metric) pair is a *slot*: a 64-byte record (one cache line) in one
 * ArrayBuffer, seen through an Int32 and a Float64 view, plus the token string in a plain
 * array. An open-addressing hash index (linear probing, seeded hash) maps (token, metric) to
 * its slot. At a million tokens a decision is bound by cache misses, so everything a decision
 * reads sits in the one record: the hash check, the ring's place, the ban summary, the expiry
 * and, for a token seen once, its only timestamp.
 *
 * Decisions. A slot's events are timestamps in a ring holding at least the last `limit + 1`
 * of them for the metric's largest limit (in the record while it is one, then in ring-pool.ts
 * blocks that double as needed). A threshold trips when the `(limit + 1)`-th newest event, the
 * current one included, lies inside the window: one read, exact for every window length,
 * however busy the token.
 *
 * Rates are counted from the ring too, exactly, while it still holds every event of the last
 * hour. The first time a full ring would drop an event younger than an hour, the slot gets
 * bucketed counters (rate-buckets.ts), filled from the ring, and its rates are bucketed from
 * then on (within 1/60 of each window, see store/rates.ts).
 *
 * Memory. A slot's state can matter for `span` = max(longest window, longest ban, 1 hour)
 * after its last event or ban; past that (`expiresAt`) it is dead. A clock hand walks the
 * slots, two for each new pair, and frees the dead ones: no call ever sweeps the table, and
 * the table can only grow while pairs stay alive. A banned slot keeps its per-threshold ban
 * ends in a block of a second ring pool (`#bans`), 8 bytes a threshold; the record holds the
 * latest end, so a slot never banned, or no longer, is decided without reading the block.
 *
 * Time. The clock is read under `ClockGuard`'s rule (docs/time.md). After the clock has been
 * corrected back, a slot's state stamped after now is settled when the slot is next touched
 * (`#settle`): the record keeps the correction count it was settled at, so the hot path pays
 * one integer compare.
 *
 * Floods. `maxTokens` caps the slots: at the cap, a new pair takes the slot of one that a
 * second hand, the eviction hand, picks with the CLOCK (second-chance) rule, an approximation
 * of least-recently-used over every pair of every metric: slots used since the hand last
 * passed get another round, and slots holding a ban in force are never taken, since the bans
 * are what the cap protects (a flood of tokens that each earn a ban must not unban a real
 * attacker). The eviction hand stops on the slot it frees, so in a flood it moves one slot per
 * new pair and every slot gets its turn; the dead-state hand is a separate one, so its steps
 * cannot make the eviction hand stride over whole residue classes of slots. When every slot
 * the eviction hand looks at (`EVICTION_SCAN` of them) holds a ban in force, the table is
 * taken as full of bans and the new pair is not stored: by `whenFull`, its event is decided
 * as that of a pair seen for the first time and then forgotten (`'untracked'`, the default:
 * the event passes unless a threshold's limit is 0, whose actions then run without a ban
 * being kept), or refused (`'refuse'`). Either way `incr` reports `UNTRACKED` and
 * `untracked` counts it. The hand resumes there on the next new pair, so a run of bans does
 * not hide the unbanned slots past it for long.
 *
 * Batches. Over many distinct tokens a decision waits mostly for one cache miss, in the index,
 * and `incr` cannot start the next token's before the current one is decided. `incrMany`
 * hashes a block of tokens first and loads their index positions (and the records those point
 * at) in a short loop of independent reads, so the misses overlap; it then decides the block
 * token by token with the same code as `incr`, on lines already in cache.
 */

const NONE = -1;
/** Slots per chunk of the token array (see `#tokenChunks`). */
const TOKEN_CHUNK_BITS = 12;
const TOKEN_CHUNK = 1 << TOKEN_CHUNK_BITS;
/** An old-index entry removed during a migration (see `#oldIndex`). */
const TOMBSTONE = -1;
/** Smallest ring a busy token gets, so tiny limits still keep exact rates a while. */
const MIN_RING = 16;
/**
 * Slots the records reserve address space for up front: `min(maxTokens, this)`, 64 bytes
 * each (128 MB of address space at the default cap, 256 MB at most). The system commits a
 * shared buffer's pages lazily, zero-filled, when they are first written, so a slot costs
 * memory only once it has been used; and the records never move, so the table neither copies
 * them as it grows nor leaves retired copies behind for the next major GC to free. Past this
 * many slots (a larger `maxTokens`), or if the system refuses the reservation, the records
 * grow by doubling.
 */
const RESERVED_SLOTS = 1 << 22;
/** Slots the dead-state hand looks at per new pair: more than the one it takes. */
const SWEEP_PER_CALL = 2;
/** Slots the eviction hand looks at for one not used since it last passed before it settles
 *  for the first unbanned one; if all of them hold a ban, the table counts as full of bans. */
const EVICTION_SCAN = 32;
/**
 * Tokens `incrMany` prefetches and then decides at a time: enough independent cache misses
 * to keep the memory system busy, few enough that the first lines are still cached when
 * their turn comes.
 */
const BATCH_BLOCK = 64;
/** Where `#prefetch` leaves what it read (see there). */
const PREFETCH_SINK = new Int32Array(1);

// The record of a slot: 16 Int32 words = 8 Float64 words = 64 bytes.
const REC_SHIFT_I32 = 4;
const REC_SHIFT_F64 = 3;
const I_HASH = 0;
/** Next free slot while the slot is free (its hash is only needed while it is in use). */
const I_NEXT_FREE = 0;
const I_METRIC = 1;
/** Ring block in the pool of its class (unused for class 0, which lives in the record). */
const I_RING_BLOCK = 2;
/** log2 of the ring's size. */
const I_RING_CLASS = 3;
/** Where the next timestamp goes in the ring (kept modulo 2^31). */
const I_RING_NEXT = 4;
/** Timestamps held (≤ ring size). */
const I_RING_COUNT = 5;
/** Rate bucket block, or NONE. */
const I_BUCKET = 6;
const I_FLAGS = 7;
/** The slot's block of ban ends in `#bans` (one per threshold of its metric), or NONE. */
const I_BANS = 8;
/** The clock's correction count when the slot was last settled (see `#settle`). */
const I_SETTLED = 9;
/** Latest end of a ban on the slot (0: never banned): a quick "may be blocked" test. */
const F_BLOCKED_UNTIL = 5;
/** When nothing in the slot can matter any more. */
const F_EXPIRES_AT = 6;
/** The ring while it has a single slot (class 0). */
const F_INLINE_RING = 7;

const IN_USE = 1;
/** Used since the hand last passed (CLOCK's reference bit). */
const REFERENCED = 2;
/** `pairFlags` of an image (memory-image.ts): the CLOCK bit, and "not settled since the last
 *  clock correction". */
const PAIR_REFERENCED = 1;
const PAIR_UNSETTLED = 2;
/** Scratch for `exportSlots`: one block of rate buckets. */
const EXPORT_COUNTS = new Uint32Array(PER_BLOCK);
const EXPORT_EPOCHS = new Float64Array(WINDOWS);

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
  /** Per threshold, the bits of `PASSED` its trip or ban leaves standing: none for an
   *  enforcing threshold, `PASSED` for a shadow one (which refuses nothing). */
  readonly passMask: Uint8Array;
  /** Whether some threshold is a shadow one: only then does a slot's latest ban end
   *  (`F_BLOCKED_UNTIL`) differ from its latest enforcing one. */
  readonly hasShadow: boolean;
  /** How long after its last event a slot's state can still matter. */
  readonly spanMs: number;
}

/**
 * Seeded FNV-1a over the UTF-16 code units, mixed with the metric, finished with the shared
 * murmur mix so that the low bits (which pick the index position) depend on every input bit.
 */
function hashOf(token: string, metric: number, seed: number): number {
  let h = seed ^ Math.imul(metric + 1, 0x9e3779b1);
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return mix32(h ^ token.length);
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
  /** Threshold (−1: none), remaining, reset ms, written by `readLastQuota`. */
  readonly quota = new Float64Array(3);

  /** The store's clock under the one rule (docs/time.md): garbage is an InvalidTimeError
   *  thrown before anything changes, a large step back is a correction. */
  readonly #clock: ClockGuard;
  readonly #tables: MetricTable[];
  readonly #maxTokens: number;
  readonly #rings: RingPool;
  readonly #buckets = new RateBuckets();
  /**
   * Per-threshold ban ends of the slots banned since they were created, a block per slot in
   * the pool's class for its metric (`banClass`): 8 bytes a threshold, rounded up to a power
   * of two, where a typed array per ban cost ~200 bytes and a Map entry more.
   */
  readonly #bans: RingPool;
  /** Random per core, so which tokens collide cannot be worked out in advance. */
  readonly #seed = randomSeed();

  #capacity = 0;
  #size = 0;
  #highWater = 0;
  #freeHead = NONE;
  /** The pair the last `incr` or `ban` touched (`NONE` once it is freed). */
  #lastSlot = NONE;
  #lastToken = '';
  #lastMetric = -1;
  /** When the last `incr` was decided: what `readLastBanMs` and `readLastQuota` answer at. */
  #lastNow = 0;
  /** The dead-state hand (`#sweep`) and the eviction hand (`#evict`), see Floods. */
  #hand = 0;
  #evictionHand = 0;
  #evictions = 0;
  #expirations = 0;
  /** The latest end of any enforcing ban ever started: while the clock is past it, no token
   *  is banned anywhere and `#tokenBanEnd` answers without looking. */
  #latestBanEnd = 0;
  #untracked = 0;
  readonly #refuseWhenFull: boolean;

  /** The records, on a shared buffer (see shared-arrays.ts for why). */
  #buffer = new SharedArrayBuffer(0);
  #i32 = new Int32Array(this.#buffer);
  #f64 = new Float64Array(this.#buffer);
  /**
   * The token of each slot, in chunks of `TOKEN_CHUNK` slots rather than one array: a JS
   * array grows by copying itself, which at a million slots is an 8 MB copy inside one call
   * (measured: the slowest `incr` over 1M fresh tokens, ~6 ms, was that copy).
   */
  #tokenChunks: (string | undefined)[][] = [];
  /** Open-addressing hash index of (slot + 1, hash) pairs, slot 0 meaning empty; at most
   *  half the positions are used. */
  #index: SharedInt32Array = sharedInt32(0);
  /**
   * The index being migrated away from after a doubling, or null. Each new pair moves the
   * next `MIGRATION_STEP` old positions into `#index`, so no call pays for a whole
   * rehash (tens of milliseconds at a million pairs). A pair is in exactly one of the two:
   * `#index`, or the old index at a position not yet passed by `#oldCursor`. The old index
   * is never shifted — a pair removed from it leaves a `TOMBSTONE` — so positions below the
   * cursor keep meaning "moved".
   */
  #oldIndex: SharedInt32Array | null = null;
  /** Old positions below this have moved to `#index`. */
  #oldCursor = 0;
  /** While `exportStateInSlices` walks the slots: 1 for each slot freed or settled (after a
   *  clock correction) since it began — changes no request of the pair's own made — so the
   *  export reads those slots again at its end. */
  #dropWatch: Uint8Array | null = null;

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
      const passMask = new Uint8Array(count);
      let maxLimit = 0;
      let spanMs = LONGEST_RATE_WINDOW_MS;
      metric.thresholds.forEach((threshold, i) => {
        limits[i] = threshold.limit;
        windowsMs[i] = threshold.windowSeconds * 1000;
        durationsMs[i] = threshold.durationSeconds * 1000;
        passMask[i] = threshold.shadow === true ? PASSED : 0;
        maxLimit = Math.max(maxLimit, threshold.limit);
        spanMs = Math.max(spanMs, windowsMs[i]!, durationsMs[i]!);
      });
      const maxRingClass = ceilLog2(Math.max(MIN_RING, maxLimit + 1));
      maxClass = Math.max(maxClass, maxRingClass);
      const banClass = ceilLog2(count);
      maxBanClass = Math.max(maxBanClass, banClass);
      return {
        name: metric.name,
        limits,
        windowsMs,
        durationsMs,
        maxRingClass,
        banClass,
        passMask,
        hasShadow: passMask.includes(PASSED),
        spanMs,
      };
    });
    this.#bans = new RingPool(maxBanClass + 1);
    this.thresholdState = new Uint8Array(maxThresholds);
    this.#rings = new RingPool(maxClass + 1);
    const initial = Math.max(16, options.initialCapacity);
    try {
      this.#grow(Math.max(initial, Math.min(RESERVED_SLOTS, this.#maxTokens)));
    } catch (error) {
      // Where address space is committed up front (vm.overcommit_memory=2, ulimit -v), the
      // reservation may be refused: start small and double instead.
      if (!(error instanceof RangeError)) throw error;
      this.#grow(initial);
    }
    // The index is hashed, so every page of it is written soon: it is sized for the pairs
    // expected, not for the reservation, and doubles as they come.
    let positions = 16;
    while (positions < initial * 2) positions *= 2;
    this.#index = sharedInt32(positions * 2);
  }

  /** Tracked (token, metric) pairs. */
  get size(): number {
    return this.#size;
  }

  /** Slots freed because their state was dead / evicted because of `maxTokens`. */
  get expirations(): number {
    return this.#expirations;
  }
  get evictions(): number {
    return this.#evictions;
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
   * Counts one event and decides it. Returns `PASSED | HAS_ACTIONS` bits; when `HAS_ACTIONS`
   * is set, `thresholdState` says which thresholds tripped or held the token blocked.
   */
  incr(token: string, metric: number): number {
    const now = this.#clock.read();
    this.#lastNow = now;
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
      throw new ConfigError('MemoryStore.incrMany.out', `holds ${out.length} results, tokens ${n}`);
    }
    if (rates !== undefined && rates.length < 3 * n) {
      throw new ConfigError(
        'MemoryStore.incrMany.rates',
        `holds ${rates.length} numbers, 3 × ${n} needed`,
      );
    }
    const table = this.#tables[metric]!;
    // Per call rather than a field, so that an `onActions` that starts another batch cannot
    // overwrite this one's hashes.
    const hashes = new Int32Array(Math.min(n, BATCH_BLOCK));
    const seed = this.#seed;
    const now = this.#clock.read();
    this.#lastNow = now;
    for (let start = 0; start < n; start += BATCH_BLOCK) {
      const end = Math.min(n, start + BATCH_BLOCK);
      for (let i = start; i < end; i++) hashes[i - start] = hashOf(tokens[i]!, metric, seed);
      this.#prefetch(hashes, end - start);
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

  /**
   * Loads the index positions of a block of hashes, then the records they point at when the
   * stored hash matches, before any of them is needed. Each load's result is discarded: the
   * point is that their cache misses are all in flight at once (a short loop with independent
   * loads lets the CPU issue them together), where a decision at a time waits for one miss,
   * then the next. Reads only: what the block then decides is exactly what `incr` would.
   */
  #prefetch(hashes: Int32Array, count: number): void {
    const index = this.#index;
    const mask = (index.length >> 1) - 1;
    let sink = 0;
    for (let k = 0; k < count; k++) sink |= index[(hashes[k]! & mask) << 1]!;
    // While the index migrates, a pair not found in the new one is looked for in the old.
    const old = this.#oldIndex;
    if (old !== null) {
      const oldMask = (old.length >> 1) - 1;
      for (let k = 0; k < count; k++) sink |= old[(hashes[k]! & oldMask) << 1]!;
    }
    const f64 = this.#f64;
    for (let k = 0; k < count; k++) {
      const at = (hashes[k]! & mask) << 1;
      const entry = index[at]!;
      if (entry !== 0 && index[at + 1] === hashes[k]) {
        sink |= f64[((entry - 1) << REC_SHIFT_F64) + F_EXPIRES_AT]! > 0 ? 1 : 0;
      }
    }
    // Stored so that the loads are not optimised away as unused.
    PREFETCH_SINK[0] = sink;
  }

  /** The slot of (token, metric), made if new, remembered for `incr`'s fast path; `NONE`
   *  when the table is full of bans (see Floods). */
  #locate(token: string, metric: number, hash: number, now: number): number {
    let slot = this.#find(token, metric, hash);
    if (slot === NONE) slot = this.#create(token, metric, hash, now);
    this.#lastSlot = slot;
    this.#lastToken = token;
    this.#lastMetric = metric;
    return slot;
  }

  /** Counts an event at `now` on `slot` and decides it (see `incr`). */
  #decide(slot: number, table: MetricTable, now: number): number {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const rec = slot << REC_SHIFT_I32;
    const frec = slot << REC_SHIFT_F64;
    if (i32[rec + I_SETTLED] !== this.#clock.corrections) this.#settle(slot, now);
    i32[rec + I_FLAGS] = IN_USE | REFERENCED;
    f64[frec + F_EXPIRES_AT] = now + table.spanMs;
    this.#push(slot, table, now);

    const cls = i32[rec + I_RING_CLASS]!;
    const ring = cls === 0 ? f64 : this.#rings.data[cls]!;
    const base = cls === 0 ? frec + F_INLINE_RING : i32[rec + I_RING_BLOCK]! << cls;
    const mask = (1 << cls) - 1;
    const count = i32[rec + I_RING_COUNT]!;
    const newest = i32[rec + I_RING_NEXT]! - 1;
    const banBlock = f64[frec + F_BLOCKED_UNTIL]! > now ? i32[rec + I_BANS]! : NONE;
    const bans = banBlock === NONE ? undefined : this.#bans.data[table.banClass]!;
    const banBase = banBlock << table.banClass;
    const state = this.thresholdState;
    const limits = table.limits;
    const windowsMs = table.windowsMs;
    let flags = PASSED;
    for (let i = 0; i < limits.length; i++) {
      if (bans !== undefined && bans[banBase + i]! > now) {
        state[i] = BLOCKING;
        flags = (flags & table.passMask[i]!) | HAS_ACTIONS;
        continue;
      }
      const limit = limits[i]!;
      // Trips when the (limit+1)-th newest event is inside (now − window, now].
      if (count > limit && ring[base + ((newest - limit) & mask)]! > now - windowsMs[i]!) {
        this.#startBan(slot, table, i, now + table.durationsMs[i]!);
        state[i] = TRIPPED;
        flags = (flags & table.passMask[i]!) | HAS_ACTIONS;
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
        flags = (flags & (table.passMask[i]! | UNTRACKED)) | HAS_ACTIONS;
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
    this.#i32[(slot << REC_SHIFT_I32) + I_FLAGS] = IN_USE | REFERENCED;
    const at = (slot << REC_SHIFT_F64) + F_EXPIRES_AT;
    this.#f64[at] = Math.max(this.#f64[at]!, now + table.spanMs);
    this.#startBan(slot, table, threshold, now + table.durationsMs[threshold]!);
  }

  /** Forgets `token` for `metric`: events, rates and bans. Its bans on other metrics stay. */
  reset(token: string, metric: number): void {
    const slot = this.#find(token, metric, hashOf(token, metric, this.#seed));
    if (slot !== NONE) this.#drop(slot);
  }

  /** Ms until every enforcing ban of `token`, on any metric, has ended; 0 when none. */
  banMs(token: string): number {
    const now = this.#clock.read();
    return Math.max(0, this.#tokenBanEnd(token, now) - now);
  }

  /** `banMs` of the token of the last `incr`, at the time it was decided. */
  readLastBanMs(): number {
    const now = this.#lastNow;
    return Math.max(0, this.#tokenBanEnd(this.#lastToken, now) - now);
  }

  /**
   * Writes the quota of the last `incr`'s pair into `quota`: the enforcing threshold with the
   * least room left (ties to the lowest index), its remaining events and the ms until that
   * grows (see `Quota` in store.ts). After an `UNTRACKED` event, that of a pair seen once.
   */
  readLastQuota(): void {
    const now = this.#lastNow;
    const quota = this.quota;
    quota[0] = -1;
    quota[1] = 0;
    quota[2] = 0;
    if (this.#lastMetric < 0) return;
    const table = this.#tables[this.#lastMetric]!;
    const slot = this.#lastSlot;
    if (slot !== NONE) this.#settleIfCorrected(slot, now);
    for (let i = 0; i < table.limits.length; i++) {
      if (table.passMask[i] !== 0) continue;
      const limit = table.limits[i]!;
      let remaining: number;
      let resetMs: number;
      const banEnd = slot === NONE ? 0 : this.#banEndAt(slot, table, i);
      if (banEnd > now) {
        remaining = 0;
        resetMs = banEnd - now;
      } else if (slot === NONE) {
        remaining = Math.max(0, limit - 1);
        resetMs = table.windowsMs[i]!;
      } else {
        const counted = this.#countInWindow(slot, limit + 1, now - table.windowsMs[i]!);
        remaining = Math.max(0, limit - counted);
        resetMs =
          counted === 0
            ? 0
            : this.#ringAt(
                slot,
                this.#i32[(slot << REC_SHIFT_I32) + I_RING_CLASS]!,
                this.#i32[(slot << REC_SHIFT_I32) + I_RING_NEXT]! - counted,
              ) +
              table.windowsMs[i]! -
              now;
      }
      if (quota[0] === -1 || remaining < quota[1]!) {
        quota[0] = i;
        quota[1] = remaining;
        quota[2] = resetMs;
      }
    }
  }

  /** Writes the rates of `token` for `metric` into `rates`; false (and zeros) if untracked. */
  readRates(token: string, metric: number): boolean {
    // Read first, tracked or not, so a clock returning garbage fails every call alike.
    const now = this.#clock.read();
    const slot = this.#find(token, metric, hashOf(token, metric, this.#seed));
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
    const slot = this.#find(token, metric, hashOf(token, metric, this.#seed));
    const out: Ban[] = [];
    if (slot === NONE) return out;
    this.#settleIfCorrected(slot, now);
    const block = this.#i32[(slot << REC_SHIFT_I32) + I_BANS]!;
    if (!(this.#f64[(slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL]! > now) || block === NONE) {
      return out;
    }
    const table = this.#tables[metric]!;
    const bans = this.#bans.data[table.banClass]!;
    const base = block << table.banClass;
    for (let i = 0; i < table.limits.length; i++) {
      // A shadow threshold's ban end is kept only so that it trips once per ban: it bans nothing.
      if (bans[base + i]! > now && table.passMask[i] === 0) {
        out.push({ threshold: i, until: bans[base + i]! });
      }
    }
    return out;
  }

  /**
   * The latest end of an enforcing ban of `token` in force at `now`, over every metric; 0
   * when none. One probe per metric, and none at all while no ban can be in force anywhere.
   */
  #tokenBanEnd(token: string, now: number): number {
    if (!(this.#latestBanEnd > now)) return 0;
    let end = 0;
    for (let metric = 0; metric < this.#tables.length; metric++) {
      const slot =
        metric === this.#lastMetric && token === this.#lastToken && this.#lastSlot !== NONE
          ? this.#lastSlot
          : this.#find(token, metric, hashOf(token, metric, this.#seed));
      if (slot === NONE) continue;
      this.#settleIfCorrected(slot, now);
      end = Math.max(end, this.#enforcingBanEnd(slot, this.#tables[metric]!, now));
    }
    return end;
  }

  /** The latest end of an enforcing ban of `slot` in force at `now`, or 0. */
  #enforcingBanEnd(slot: number, table: MetricTable, now: number): number {
    const latest = this.#f64[(slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL]!;
    if (!(latest > now)) return 0;
    if (!table.hasShadow) return latest;
    let end = 0;
    for (let i = 0; i < table.limits.length; i++) {
      if (table.passMask[i] !== 0) continue;
      const until = this.#banEndAt(slot, table, i);
      if (until > now && until > end) end = until;
    }
    return end;
  }

  /** The end of the ban of `slot` at threshold `i` (past or in force), 0 when never banned. */
  #banEndAt(slot: number, table: MetricTable, i: number): number {
    const block = this.#i32[(slot << REC_SHIFT_I32) + I_BANS]!;
    if (block === NONE) return 0;
    return this.#bans.data[table.banClass]![(block << table.banClass) + i]!;
  }

  /** Of the newest `most` events of `slot`, how many are after `cutoff` (binary search: the
   *  ring is in time order). */
  #countInWindow(slot: number, most: number, cutoff: number): number {
    const rec = slot << REC_SHIFT_I32;
    const cls = this.#i32[rec + I_RING_CLASS]!;
    const newest = this.#i32[rec + I_RING_NEXT]! - 1;
    let lo = 0;
    let hi = Math.min(most, this.#i32[rec + I_RING_COUNT]!);
    // Invariant: the lo newest are after cutoff; those from hi on are not.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ringAt(slot, cls, newest - mid) > cutoff) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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
      const token = this.#tokenAt(slot);
      if (token !== undefined) this.#settleIfCorrected(slot, now);
      // Dead pairs the hand has not reached yet are not reported.
      if (token !== undefined && this.#f64[(slot << REC_SHIFT_F64) + F_EXPIRES_AT]! > now) {
        visitor(token, this.#i32[(slot << REC_SHIFT_I32) + I_METRIC]!);
        visited++;
      }
      slot++;
    }
    return slot < this.#highWater ? slot : NONE;
  }

  /** Looks at up to `steps` slots for dead state and frees it; returns how many it freed. */
  sweep(steps: number): number {
    return this.#sweep(this.#clock.read(), steps);
  }

  /** Bytes held in typed arrays (records, index, rings, buckets), all on shared buffers that
   *  `process.memoryUsage()` does not count; excludes token strings and the array that
   *  points at them. Records count up to the highest slot ever used: the rest of their
   *  reservation is address space the system has not committed. */
  get arrayBytes(): number {
    const oldIndexBytes = this.#oldIndex === null ? 0 : this.#oldIndex.byteLength;
    return (
      this.#highWater * 64 +
      this.#index.byteLength +
      oldIndexBytes +
      this.#rings.bytes +
      this.#bans.bytes +
      this.#buckets.bytes
    );
  }

  #readRates(slot: number, now: number): void {
    const rates = this.rates;
    const rec = slot << REC_SHIFT_I32;
    const i32 = this.#i32;
    if (i32[rec + I_SETTLED] !== this.#clock.corrections) this.#settle(slot, now);
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) {
      for (let w = 0; w < 3; w++) rates[w] = this.#buckets.rate(bucket, w, now);
      return;
    }
    // Exact: the ring still holds every event of the last hour. Binary search per window for
    // the oldest timestamp inside it.
    const cls = i32[rec + I_RING_CLASS]!;
    const ring = cls === 0 ? this.#f64 : this.#rings.data[cls]!;
    const base =
      cls === 0 ? (slot << REC_SHIFT_F64) + F_INLINE_RING : i32[rec + I_RING_BLOCK]! << cls;
    const mask = (1 << cls) - 1;
    const count = i32[rec + I_RING_COUNT]!;
    const oldest = i32[rec + I_RING_NEXT]! - count;
    for (let w = 0; w < 3; w++) {
      const cutoff = now - RATE_WINDOWS_SECONDS[w]! * 1000;
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ring[base + ((oldest + mid) & mask)]! > cutoff) hi = mid;
        else lo = mid + 1;
      }
      rates[w] = count - lo;
    }
  }

  #settleIfCorrected(slot: number, now: number): void {
    if (this.#i32[(slot << REC_SHIFT_I32) + I_SETTLED] !== this.#clock.corrections) {
      this.#settle(slot, now);
    }
  }

  /**
   * The clock has been corrected back since the slot was last touched (docs/time.md): state
   * stamped after `now` counts as stamped at `now`. Events move to now (the ring stays in
   * order, its newest stamps become `now`; bucketed rates fold their future buckets into the
   * current one), a ban lasts at most its duration from now, and the slot expires at most a
   * span from now. Done once per slot and correction, when the slot is next touched: the hot
   * path only compares the slot's generation with the clock's.
   */
  #settle(slot: number, now: number): void {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const rec = slot << REC_SHIFT_I32;
    const frec = slot << REC_SHIFT_F64;
    i32[rec + I_SETTLED] = this.#clock.corrections;
    const watch = this.#dropWatch;
    if (watch !== null) watch[slot] = 1;
    const table = this.#tables[i32[rec + I_METRIC]!]!;
    const cls = i32[rec + I_RING_CLASS]!;
    const ring = cls === 0 ? f64 : this.#rings.data[cls]!;
    const base = cls === 0 ? frec + F_INLINE_RING : i32[rec + I_RING_BLOCK]! << cls;
    const mask = (1 << cls) - 1;
    const newest = i32[rec + I_RING_NEXT]! - 1;
    const count = i32[rec + I_RING_COUNT]!;
    for (let k = 0; k < count; k++) {
      const at = base + ((newest - k) & mask);
      if (!(ring[at]! > now)) break;
      ring[at] = now;
    }
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) this.#buckets.clampTo(bucket, now);
    const block = i32[rec + I_BANS]!;
    if (f64[frec + F_BLOCKED_UNTIL]! > now && block !== NONE) {
      const bans = this.#bans.data[table.banClass]!;
      const banBase = block << table.banClass;
      let blockedUntil = 0;
      for (let i = 0; i < table.limits.length; i++) {
        bans[banBase + i] = Math.min(bans[banBase + i]!, now + table.durationsMs[i]!);
        blockedUntil = Math.max(blockedUntil, bans[banBase + i]!);
      }
      f64[frec + F_BLOCKED_UNTIL] = blockedUntil;
    }
    f64[frec + F_EXPIRES_AT] = Math.min(f64[frec + F_EXPIRES_AT]!, now + table.spanMs);
  }

  #startBan(slot: number, table: MetricTable, threshold: number, until: number): void {
    const rec = slot << REC_SHIFT_I32;
    const cls = table.banClass;
    if (table.passMask[threshold] === 0 && until > this.#latestBanEnd) this.#latestBanEnd = until;
    let block = this.#i32[rec + I_BANS]!;
    if (block === NONE) {
      block = this.#bans.alloc(cls);
      this.#bans.data[cls]!.fill(0, block << cls, (block + 1) << cls);
      this.#i32[rec + I_BANS] = block;
    }
    this.#bans.data[cls]![(block << cls) + threshold] = until;
    const at = (slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL;
    if (until > this.#f64[at]!) this.#f64[at] = until;
  }

  /** Appends `now` to the slot's ring, growing it or moving the slot to buckets as needed. */
  #push(slot: number, table: MetricTable, now: number): void {
    const i32 = this.#i32;
    const rec = slot << REC_SHIFT_I32;
    let cls = i32[rec + I_RING_CLASS]!;
    let count = i32[rec + I_RING_COUNT]!;
    if (count === 1 << cls) {
      if (cls < table.maxRingClass) {
        this.#growRing(slot, cls);
        cls++;
      } else {
        const oldest = this.#ringAt(slot, cls, i32[rec + I_RING_NEXT]!);
        // The ring is about to lose an event the hourly rate still counts: bucket from now on.
        if (i32[rec + I_BUCKET] === NONE && oldest > now - LONGEST_RATE_WINDOW_MS) {
          this.#startBuckets(slot);
        }
        count--;
      }
    }
    const next = i32[rec + I_RING_NEXT]!;
    if (cls === 0) this.#f64[(slot << REC_SHIFT_F64) + F_INLINE_RING] = now;
    else
      this.#rings.data[cls]![(i32[rec + I_RING_BLOCK]! << cls) + (next & ((1 << cls) - 1))] = now;
    // Kept modulo 2^31 so it stays a small integer; only its low bits index the ring.
    i32[rec + I_RING_NEXT] = (next + 1) & 0x7fff_ffff;
    i32[rec + I_RING_COUNT] = count + 1;
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) this.#buckets.add(bucket, now);
  }

  /** The timestamp at ring position `position` (taken modulo the ring size). */
  #ringAt(slot: number, cls: number, position: number): number {
    if (cls === 0) return this.#f64[(slot << REC_SHIFT_F64) + F_INLINE_RING]!;
    const block = this.#i32[(slot << REC_SHIFT_I32) + I_RING_BLOCK]!;
    return this.#rings.data[cls]![(block << cls) + (position & ((1 << cls) - 1))]!;
  }

  /** Moves a full ring of class `cls` to a block twice the size, oldest event first. */
  #growRing(slot: number, cls: number): void {
    const rec = slot << REC_SHIFT_I32;
    const block = this.#rings.alloc(cls + 1);
    const to = this.#rings.data[cls + 1]!;
    const toBase = block << (cls + 1);
    const size = 1 << cls;
    const start = this.#i32[rec + I_RING_NEXT]!;
    for (let k = 0; k < size; k++) to[toBase + k] = this.#ringAt(slot, cls, start + k);
    if (cls > 0) this.#rings.free(cls, this.#i32[rec + I_RING_BLOCK]!);
    this.#i32[rec + I_RING_BLOCK] = block;
    this.#i32[rec + I_RING_CLASS] = cls + 1;
    this.#i32[rec + I_RING_NEXT] = size;
  }

  #startBuckets(slot: number): void {
    const rec = slot << REC_SHIFT_I32;
    const bucket = this.#buckets.alloc();
    const cls = this.#i32[rec + I_RING_CLASS]!;
    const count = this.#i32[rec + I_RING_COUNT]!;
    const oldest = this.#i32[rec + I_RING_NEXT]! - count;
    for (let k = 0; k < count; k++) this.#buckets.add(bucket, this.#ringAt(slot, cls, oldest + k));
    this.#i32[rec + I_BUCKET] = bucket;
  }

  #tokenAt(slot: number): string | undefined {
    return this.#tokenChunks[slot >> TOKEN_CHUNK_BITS]![slot & (TOKEN_CHUNK - 1)];
  }

  #setToken(slot: number, token: string | undefined): void {
    const chunks = this.#tokenChunks;
    const chunk = slot >> TOKEN_CHUNK_BITS;
    // Slots are handed out in order, so a slot is at most one chunk past the last.
    if (chunk === chunks.length)
      chunks.push(new Array<string | undefined>(TOKEN_CHUNK).fill(undefined));
    chunks[chunk]![slot & (TOKEN_CHUNK - 1)] = token;
  }

  /** The slot of (token, metric), or `NONE`. Linear probing over `#index`, then over the
   *  part of the old index not yet migrated. */
  #find(token: string, metric: number, hash: number): number {
    const index = this.#index;
    const mask = (index.length >> 1) - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = index[at << 1]!;
      if (entry === 0) break;
      // The hash sits beside the entry, so a miss never touches the record.
      if (index[(at << 1) + 1] === hash && this.#holds(entry - 1, token, metric)) {
        return entry - 1;
      }
    }
    return this.#oldIndex === null ? NONE : this.#findUnmigrated(token, metric, hash);
  }

  #holds(slot: number, token: string, metric: number): boolean {
    return (
      this.#i32[(slot << REC_SHIFT_I32) + I_METRIC] === metric && this.#tokenAt(slot) === token
    );
  }

  #findUnmigrated(token: string, metric: number, hash: number): number {
    const old = this.#oldIndex!;
    const mask = (old.length >> 1) - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = old[at << 1]!;
      if (entry === 0) return NONE;
      if (
        entry !== TOMBSTONE &&
        old[(at << 1) + 1] === hash &&
        this.#holds(entry - 1, token, metric)
      ) {
        // Below the cursor the entry has moved: the pair is in `#index` or was removed since.
        return at < this.#oldCursor ? NONE : entry - 1;
      }
    }
  }

  #indexInsert(slot: number, hash: number): void {
    if (this.#oldIndex !== null) this.#migrateIndex(MIGRATION_STEP);
    if ((this.#size + 1) * 4 > this.#index.length) this.#growIndex();
    this.#place(this.#index, slot + 1, hash);
  }

  #place(index: SharedInt32Array, entry: number, hash: number): void {
    placePair(index, (index.length >> 1) - 1, entry, hash);
  }

  /** Removes a slot from the index: by backward shifting in `#index`, so no tombstones pile
   *  up there; by a tombstone in the old index while it migrates. */
  #indexRemove(slot: number): void {
    const hash = this.#i32[(slot << REC_SHIFT_I32) + I_HASH]!;
    const index = this.#index;
    if (!removePair(index, (index.length >> 1) - 1, slot + 1, hash)) {
      this.#tombstoneUnmigrated(slot, hash);
    }
  }

  /** Marks `slot`'s entry in the not yet migrated part of the old index as removed. */
  #tombstoneUnmigrated(slot: number, hash: number): void {
    const old = this.#oldIndex!;
    const mask = (old.length >> 1) - 1;
    let at = hash & mask;
    // Below the cursor the same entry may still sit there, moved: look for the live one.
    while (old[at << 1] !== slot + 1 || at < this.#oldCursor) at = (at + 1) & mask;
    old[at << 1] = TOMBSTONE;
  }

  /** Starts doubling the index: a new one twice the size, filled from the old one a step per
   *  new pair (`#migrateIndex`). It reads only the index itself, never the records. */
  #growIndex(): void {
    // Two generations at most (tables/incremental-doubling.ts says why); this only guards
    // against a changed constant.
    if (this.#oldIndex !== null) this.#migrateIndex(Number.POSITIVE_INFINITY);
    this.#oldIndex = this.#index;
    this.#oldCursor = 0;
    this.#index = sharedInt32(this.#index.length * 2);
  }

  /** An empty index made big enough for `pairs` at once, so that a restore places them all
   *  without ever doubling it (a core holding nothing yet). */
  #sizeIndexFor(pairs: number): void {
    let positions = this.#index.length >> 1;
    while (positions < pairs * 2) positions *= 2;
    if (positions === this.#index.length >> 1) return;
    this.#oldIndex = null;
    this.#index = sharedInt32(positions * 2);
  }

  /** Moves the next `steps` old positions into `#index`; drops the old index at its end. */
  #migrateIndex(steps: number): void {
    const old = this.#oldIndex!;
    const positions = old.length >> 1;
    const end = Math.min(this.#oldCursor + steps, positions);
    for (let at = this.#oldCursor; at < end; at++) {
      const entry = old[at << 1]!;
      if (entry > 0) this.#place(this.#index, entry, old[(at << 1) + 1]!);
    }
    this.#oldCursor = end;
    if (end === positions) this.#oldIndex = null;
  }

  #create(token: string, metric: number, hash: number, now: number): number {
    // Only new pairs make the table grow, so they pay for freeing the dead ones.
    this.#sweep(now, SWEEP_PER_CALL);
    if (this.#size >= this.#maxTokens && !this.#evict(now)) return NONE;
    let slot: number;
    if (this.#freeHead !== NONE) {
      slot = this.#freeHead;
      this.#freeHead = this.#i32[(slot << REC_SHIFT_I32) + I_NEXT_FREE]!;
    } else {
      if (this.#highWater === this.#capacity) {
        this.#grow(Math.min(this.#capacity * 2, Math.max(this.#maxTokens, 16)));
      }
      slot = this.#highWater++;
    }
    const i32 = this.#i32;
    const rec = slot << REC_SHIFT_I32;
    const frec = slot << REC_SHIFT_F64;
    i32[rec + I_HASH] = hash;
    i32[rec + I_METRIC] = metric;
    i32[rec + I_RING_BLOCK] = 0;
    i32[rec + I_RING_CLASS] = 0;
    i32[rec + I_RING_NEXT] = 0;
    i32[rec + I_RING_COUNT] = 0;
    i32[rec + I_BUCKET] = NONE;
    i32[rec + I_BANS] = NONE;
    i32[rec + I_FLAGS] = IN_USE | REFERENCED;
    i32[rec + I_SETTLED] = this.#clock.corrections;
    this.#f64[frec + F_BLOCKED_UNTIL] = 0;
    this.#f64[frec + F_EXPIRES_AT] = now + this.#tables[metric]!.spanMs;
    this.#setToken(slot, token);
    this.#indexInsert(slot, hash);
    this.#size++;
    return slot;
  }

  /** Frees a slot. */
  #drop(slot: number): void {
    const i32 = this.#i32;
    const rec = slot << REC_SHIFT_I32;
    const watch = this.#dropWatch;
    if (watch !== null) watch[slot] = 1;
    this.#indexRemove(slot);
    const cls = i32[rec + I_RING_CLASS]!;
    if (cls > 0) this.#rings.free(cls, i32[rec + I_RING_BLOCK]!);
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) this.#buckets.free(bucket);
    const banBlock = i32[rec + I_BANS]!;
    if (banBlock !== NONE) this.#bans.free(this.#tables[i32[rec + I_METRIC]!]!.banClass, banBlock);
    this.#setToken(slot, undefined);
    i32[rec + I_FLAGS] = 0;
    i32[rec + I_NEXT_FREE] = this.#freeHead;
    this.#freeHead = slot;
    this.#size--;
    if (this.#lastSlot === slot) this.#lastSlot = NONE;
  }

  /** Moves the hand over `steps` slots, freeing the dead ones. */
  #sweep(now: number, steps: number): number {
    const highWater = this.#highWater;
    if (highWater === 0) return 0;
    const i32 = this.#i32;
    const f64 = this.#f64;
    let hand = this.#hand;
    let freed = 0;
    for (let k = 0; k < steps; k++) {
      if (++hand >= highWater) hand = 0;
      if ((i32[(hand << REC_SHIFT_I32) + I_FLAGS]! & IN_USE) === 0) continue;
      this.#settleIfCorrected(hand, now);
      if (f64[(hand << REC_SHIFT_F64) + F_EXPIRES_AT]! <= now) {
        this.#drop(hand);
        this.#expirations++;
        freed++;
      }
    }
    this.#hand = hand;
    return freed;
  }

  /**
   * At the cap: frees one slot chosen by the CLOCK rule with the eviction hand (see Floods),
   * or returns false when every slot it looked at holds a ban in force. The hand frees the
   * first dead slot, or else the first one not used since the hand last passed (clearing that
   * mark as it goes), never one holding a ban in force. After `EVICTION_SCAN` slots it settles
   * for the first unbanned one it saw. It stops on the slot it frees, so the slots it passed
   * over, now unmarked, come next.
   */
  #evict(now: number): boolean {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const highWater = this.#highWater;
    let hand = this.#evictionHand;
    let fallback = NONE;
    let victim = NONE;
    let dead = false;
    for (let k = 0; k < EVICTION_SCAN && victim === NONE; k++) {
      if (++hand >= highWater) hand = 0;
      const rec = hand << REC_SHIFT_I32;
      if ((i32[rec + I_FLAGS]! & IN_USE) === 0) continue;
      this.#settleIfCorrected(hand, now);
      const flags = i32[rec + I_FLAGS]!;
      const frec = hand << REC_SHIFT_F64;
      if (f64[frec + F_EXPIRES_AT]! <= now) {
        victim = hand;
        dead = true;
      } else if (
        f64[frec + F_BLOCKED_UNTIL]! > now &&
        this.#enforcingBanEnd(hand, this.#tables[i32[rec + I_METRIC]!]!, now) > 0
      ) {
      } else if ((flags & REFERENCED) !== 0) {
        i32[rec + I_FLAGS] = IN_USE;
        if (fallback === NONE) fallback = hand;
      } else victim = hand;
    }
    if (victim === NONE) victim = fallback;
    if (victim === NONE) {
      // Every slot looked at holds a ban: the next new pair looks at the ones after them.
      this.#evictionHand = hand;
      return false;
    }
    this.#evictionHand = victim;
    this.#drop(victim);
    if (dead) this.#expirations++;
    else this.#evictions++;
    return true;
  }

  /** Starts noting the slots freed from now on (for an export over several macrotasks);
   *  false when another such export is running. */
  watchDrops(): boolean {
    if (this.#dropWatch !== null) return false;
    this.#dropWatch = new Uint8Array(this.#capacity);
    return true;
  }

  /** Stops noting freed slots (an export over several macrotasks ended or failed). */
  unwatchDrops(): void {
    this.#dropWatch = null;
  }

  /**
   * Appends the pairs of slots `from` up to `to` (at most the high water) to `out`, as columns
   * (memory-image.ts has the layout), in slot order; returns the slot to go on from. Reads
   * only: a pair not yet settled after a clock correction is marked so, not settled. With
   * `finishExport` this is `MemoryStore#exportState` (all slots at once) and
   * `exportStateInSlices` (a range per macrotask). Allocates; not a hot path.
   */
  exportSlots(from: number, to: number, out: PairColumns): number {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const end = Math.min(to, this.#highWater);
    const corrections = this.#clock.corrections;
    for (let slot = from; slot < end; slot++) {
      const rec = slot << REC_SHIFT_I32;
      const flags = i32[rec + I_FLAGS]!;
      if ((flags & IN_USE) === 0) continue;
      const k = out.pairSlot.length;
      const metric = i32[rec + I_METRIC]!;
      out.tokens.push(this.#tokenAt(slot)!);
      out.pairSlot.push(slot);
      out.pairFlags.push(
        ((flags & REFERENCED) !== 0 ? PAIR_REFERENCED : 0) |
          (i32[rec + I_SETTLED] !== corrections ? PAIR_UNSETTLED : 0),
      );
      out.pairMetric.push(metric);
      out.pairExpires.push(f64[(slot << REC_SHIFT_F64) + F_EXPIRES_AT]!);
      const count = i32[rec + I_RING_COUNT]!;
      out.ringCounts.push(count);
      const cls = i32[rec + I_RING_CLASS]!;
      const oldest = i32[rec + I_RING_NEXT]! - count;
      for (let e = 0; e < count; e++) out.ringTimes.push(this.#ringAt(slot, cls, oldest + e));
      const block = i32[rec + I_BUCKET]!;
      if (block !== NONE) {
        out.bucketPairs.push(k);
        this.#buckets.exportBlock(block, EXPORT_COUNTS, 0, EXPORT_EPOCHS, 0);
        for (let c = 0; c < PER_BLOCK; c++) out.bucketCounts.push(EXPORT_COUNTS[c]!);
        for (let w = 0; w < WINDOWS; w++) out.bucketEpochs.push(EXPORT_EPOCHS[w]!);
      }
      const bans = i32[rec + I_BANS]!;
      if (bans !== NONE) {
        const table = this.#tables[metric]!;
        out.banPairs.push(k);
        const data = this.#bans.data[table.banClass]!;
        for (let t = 0; t < table.limits.length; t++) {
          out.banEnds.push(data[(bans << table.banClass) + t]!);
        }
      }
    }
    return end;
  }

  /**
   * The columns of `out` with the layout as it is now: the free slots (the free list in its
   * order, less any slot `out` holds a pair of, then every other slot below the high water
   * that `out` does not hold: a pair made after the walk passed its slot is not in the image,
   * so its slot is free there), both hands and the clock's latest reading. With every slot
   * exported in one go this is the store exactly; over several macrotasks, each pair as it was
   * when its slot was read, and the rest as at the end.
   */
  finishExport(given: PairColumns, corrections: number, watched: boolean): MemoryPairs {
    const i32 = this.#i32;
    const highWater = this.#highWater;
    const watch = watched ? this.#dropWatch : null;
    if (watched) this.#dropWatch = null;
    // Most walks see no slot freed or settled behind them: then the columns stand as read.
    const out = watch === null || watch.indexOf(1) === -1 ? given : this.#withRereads(given, watch);
    const held = new Uint8Array(highWater);
    const pairs = out.pairSlot.length;
    for (let k = 0; k < pairs; k++) held[out.pairSlot.at(k)] = 1;
    const free = new Uint32Array(highWater - pairs);
    let f = 0;
    for (
      let slot = this.#freeHead;
      slot !== NONE;
      slot = i32[(slot << REC_SHIFT_I32) + I_NEXT_FREE]!
    ) {
      if (held[slot] === 0) {
        held[slot] = 1;
        free[f++] = slot;
      }
    }
    for (let slot = 0; slot < highWater; slot++) if (held[slot] === 0) free[f++] = slot;
    const pairFlags = out.pairFlags.done();
    // A clock corrected during the walk: every pair read before it may need settling.
    if (corrections !== this.#clock.corrections) {
      for (let k = 0; k < pairFlags.length; k++) pairFlags[k]! |= PAIR_UNSETTLED;
    }
    return {
      ...encodeTokens(out.tokens),
      pairSlot: out.pairSlot.done(),
      pairFlags,
      pairMetric: out.pairMetric.done(),
      pairExpires: out.pairExpires.done(),
      ringCounts: out.ringCounts.done(),
      ringTimes: out.ringTimes.done(),
      bucketPairs: out.bucketPairs.done(),
      bucketCounts: out.bucketCounts.done(),
      bucketEpochs: out.bucketEpochs.done(),
      banPairs: out.banPairs.done(),
      banEnds: out.banEnds.done(),
      freeSlots: free,
      highWater,
      hand: this.#hand,
      evictionHand: this.#evictionHand,
      clockLatest: this.#clock.latest,
    };
  }

  /** `given` with the slots freed or settled after they were read (`#dropWatch`) read anew. */
  #withRereads(given: PairColumns, watch: Uint8Array): PairColumns {
    const out = new PairColumns(given.pairSlot.length);
    // Slots freed or settled since the walk began are read again, as they are now, in their
    // place in slot order (their earlier reading is dropped).
    let next = 0;
    const reread = (upTo: number) => {
      for (; next < upTo; next++) if (watch[next] === 1) this.exportSlots(next, next + 1, out);
    };
    let event = 0;
    let bucket = 0;
    let ban = 0;
    let end = 0;
    for (let k = 0; k < given.pairSlot.length; k++) {
      const count = given.ringCounts.at(k);
      const from = event;
      event += count;
      const hasBucket = bucket < given.bucketPairs.length && given.bucketPairs.at(bucket) === k;
      const bucketAt = bucket;
      if (hasBucket) bucket++;
      const hasBans = ban < given.banPairs.length && given.banPairs.at(ban) === k;
      const endsAt = end;
      const metric = given.pairMetric.at(k);
      const thresholds = this.#tables[metric]!.limits.length;
      if (hasBans) {
        ban++;
        end += thresholds;
      }
      const slot = given.pairSlot.at(k);
      reread(slot + 1);
      if (watch[slot] === 1) continue;
      const j = out.pairSlot.length;
      out.tokens.push(given.tokens[k]!);
      out.pairSlot.push(slot);
      out.pairFlags.push(given.pairFlags.at(k));
      out.pairMetric.push(metric);
      out.pairExpires.push(given.pairExpires.at(k));
      out.ringCounts.push(count);
      for (let e = from; e < from + count; e++) out.ringTimes.push(given.ringTimes.at(e));
      if (hasBucket) {
        out.bucketPairs.push(j);
        for (let c = 0; c < PER_BLOCK; c++) {
          out.bucketCounts.push(given.bucketCounts.at(bucketAt * PER_BLOCK + c));
        }
        for (let w = 0; w < WINDOWS; w++) {
          out.bucketEpochs.push(given.bucketEpochs.at(bucketAt * WINDOWS + w));
        }
      }
      if (hasBans) {
        out.banPairs.push(j);
        for (let t = 0; t < thresholds; t++) out.banEnds.push(given.banEnds.at(endsAt + t));
      }
    }
    reread(watch.length);
    return out;
  }

  /**
   * Fills this core — fresh, before any decision — with the pairs of a checked image.
   * `metricOf[m]` is this core's metric for the image's metric `m` (−1: dropped, its pairs
   * are skipped), `changed[m]` whether its thresholds differ from the image's. Pairs whose
   * state expired by now are skipped. Each pair is re-hashed with this core's seed.
   *
   * When the image's slots fit under this core's `maxTokens`, every pair goes back to its own
   * slot, with the free list, both hands and the CLOCK bits, so what is evicted or swept next
   * is what the saved core would have picked; a skipped pair's slot joins the free list. Else
   * the pairs are packed from slot 0 in their order and those past `maxTokens` are skipped.
   * The clock guard resumes from the saved one's latest reading (a clock far behind it is a
   * correction, and the pairs settle as they are next touched).
   */
  restorePairs(
    image: MemoryImage,
    metricOf: Int32Array,
    changed: Uint8Array,
  ): { pairs: number; expired: number; overCap: number; dropped: number } {
    const settledAt = this.#clock.corrections;
    this.#clock.resume(image.clockLatest);
    const now = this.#clock.read();
    const { tokens, pairMetric, ringCounts, ringTimes, bucketPairs, banPairs, banEnds } = image;
    const keep = new Uint8Array(tokens.length);
    let expired = 0;
    let dropped = 0;
    let kept = 0;
    for (let k = 0, at = 0; k < tokens.length; at += ringCounts[k]!, k++) {
      const metric = metricOf[pairMetric[k]!]!;
      if (metric < 0) dropped++;
      else if (!(this.#expiresAt(image, k, at, metric, changed) > now)) expired++;
      else {
        keep[k] = 1;
        kept++;
      }
    }
    const inPlace = Math.max(this.#maxTokens, 16) >= image.highWater && kept <= this.#maxTokens;
    const overCap = inPlace ? 0 : Math.max(0, kept - this.#maxTokens);
    const highWater = inPlace ? image.highWater : Math.min(kept, this.#maxTokens);
    let capacity = this.#capacity;
    while (capacity < highWater) capacity = Math.min(capacity * 2, Math.max(this.#maxTokens, 16));
    if (capacity !== this.#capacity) this.#grow(capacity);
    if (this.#size !== 0) throw new Error('MemoryCore.restorePairs: the core is not fresh');
    this.#sizeIndexFor(Math.min(kept, this.#maxTokens));
    // The index is filled after the records, in the order of the pairs' homes (sortByHome).
    const placedEntries = new Int32Array(Math.min(kept, highWater));
    const placedHashes = new Int32Array(placedEntries.length);
    // Slots may be filled out of order: every chunk of token strings up to the high water.
    while (this.#tokenChunks.length << TOKEN_CHUNK_BITS < highWater) {
      this.#tokenChunks.push(new Array<string | undefined>(TOKEN_CHUNK).fill(undefined));
    }
    const freed: number[] = [];
    let event = 0;
    let bucket = 0;
    let ban = 0;
    let end = 0;
    let next = 0;
    for (let k = 0; k < tokens.length; k++) {
      const from = event;
      const count = ringCounts[k]!;
      event += count;
      const saved = pairMetric[k]!;
      const bucketAt = bucket < bucketPairs.length && bucketPairs[bucket] === k ? bucket++ : NONE;
      const endsAt = end;
      const banned = ban < banPairs.length && banPairs[ban] === k;
      if (banned) {
        ban++;
        end += image.metrics[saved]!.thresholds.length;
      }
      if (keep[k] === 0 || (!inPlace && next >= highWater)) {
        if (inPlace) freed.push(image.pairSlot[k]!);
        continue;
      }
      const metric = metricOf[saved]!;
      const slot = inPlace ? image.pairSlot[k]! : next++;
      const table = this.#tables[metric]!;
      const i32 = this.#i32;
      const f64 = this.#f64;
      const rec = slot << REC_SHIFT_I32;
      const frec = slot << REC_SHIFT_F64;
      const token = tokens[k]!;
      const hash = hashOf(token, metric, this.#seed);
      // The newest events the metric's largest limit needs (all of them, unless it shrank).
      const ringSize = Math.min(count, 1 << table.maxRingClass);
      const cls = ceilLog2(ringSize);
      const flags = image.pairFlags[k]!;
      i32[rec + I_HASH] = hash;
      i32[rec + I_METRIC] = metric;
      i32[rec + I_RING_CLASS] = cls;
      i32[rec + I_RING_NEXT] = ringSize;
      i32[rec + I_RING_COUNT] = ringSize;
      i32[rec + I_BUCKET] = NONE;
      i32[rec + I_BANS] = NONE;
      i32[rec + I_FLAGS] = (flags & PAIR_REFERENCED) !== 0 ? IN_USE | REFERENCED : IN_USE;
      i32[rec + I_SETTLED] = (flags & PAIR_UNSETTLED) !== 0 ? -1 : settledAt;
      f64[frec + F_BLOCKED_UNTIL] = 0;
      f64[frec + F_EXPIRES_AT] = this.#expiresAt(image, k, from, metric, changed);
      const first = from + count - ringSize;
      if (cls === 0) {
        i32[rec + I_RING_BLOCK] = 0;
        f64[frec + F_INLINE_RING] = ringSize === 1 ? ringTimes[first]! : 0;
      } else {
        const block = this.#rings.alloc(cls);
        this.#rings.data[cls]!.set(ringTimes.subarray(first, first + ringSize), block << cls);
        i32[rec + I_RING_BLOCK] = block;
      }
      if (bucketAt !== NONE) {
        i32[rec + I_BUCKET] = this.#buckets.importBlock(
          image.bucketCounts,
          bucketAt * PER_BLOCK,
          image.bucketEpochs,
          bucketAt * WINDOWS,
        );
      } else if (ringSize < count) {
        // A ring cut by a smaller limit would forget events its rates count: bucket them.
        const block = this.#buckets.alloc();
        for (let e = from; e < from + count; e++) this.#buckets.add(block, ringTimes[e]!);
        i32[rec + I_BUCKET] = block;
      }
      if (banned) {
        const banClass = table.banClass;
        const block = this.#bans.alloc(banClass);
        const data = this.#bans.data[banClass]!;
        data.fill(0, block << banClass, (block + 1) << banClass);
        const thresholds = Math.min(table.limits.length, image.metrics[saved]!.thresholds.length);
        let blockedUntil = 0;
        for (let t = 0; t < thresholds; t++) {
          const until = banEnds[endsAt + t]!;
          data[(block << banClass) + t] = until;
          if (until > blockedUntil) blockedUntil = until;
          if (table.passMask[t] === 0 && until > this.#latestBanEnd) this.#latestBanEnd = until;
        }
        i32[rec + I_BANS] = block;
        f64[frec + F_BLOCKED_UNTIL] = blockedUntil;
      }
      this.#setToken(slot, token);
      placedEntries[this.#size] = slot + 1;
      placedHashes[this.#size] = hash;
      this.#size++;
    }
    const mask = (this.#index.length >> 1) - 1;
    const sorted = sortByHome(placedEntries, placedHashes, this.#size, mask);
    for (let i = 0; i < this.#size; i++) {
      placePair(this.#index, mask, sorted.entries[i]!, sorted.hashes[i]!);
    }
    this.#highWater = highWater;
    if (inPlace) {
      // The saved free list, with the slots of the pairs left out pushed on its head, as
      // `#drop` would have.
      let head = NONE;
      const free = image.freeSlots;
      for (let j = free.length - 1; j >= 0; j--) {
        this.#i32[(free[j]! << REC_SHIFT_I32) + I_NEXT_FREE] = head;
        head = free[j]!;
      }
      for (const slot of freed) {
        this.#i32[(slot << REC_SHIFT_I32) + I_NEXT_FREE] = head;
        head = slot;
      }
      this.#freeHead = head;
      this.#hand = image.hand;
      this.#evictionHand = image.evictionHand;
    }
    this.#evictions = image.evictions;
    this.#expirations = image.expirations + expired;
    this.#untracked = image.untracked;
    return { pairs: this.#size, expired, overCap, dropped };
  }

  /** When pair `k` of `image` (its ring from `ringTimes[from]`) expires here: as saved, or,
   *  for a metric whose thresholds changed, no sooner than a span of the new thresholds after
   *  its newest event. */
  #expiresAt(
    image: MemoryImage,
    k: number,
    from: number,
    metric: number,
    changed: Uint8Array,
  ): number {
    const saved = image.pairExpires[k]!;
    const count = image.ringCounts[k]!;
    if (changed[image.pairMetric[k]!] !== 1 || count === 0) return saved;
    return Math.max(saved, image.ringTimes[from + count - 1]! + this.#tables[metric]!.spanMs);
  }

  #grow(capacity: number): void {
    const buffer = new SharedArrayBuffer(capacity * 64);
    new Uint8Array(buffer).set(new Uint8Array(this.#buffer));
    this.#buffer = buffer;
    this.#i32 = new Int32Array(buffer);
    this.#f64 = new Float64Array(buffer);
    this.#capacity = capacity;
    const watch = this.#dropWatch;
    if (watch !== null) {
      this.#dropWatch = new Uint8Array(capacity);
      this.#dropWatch.set(watch);
    }
  }
}
