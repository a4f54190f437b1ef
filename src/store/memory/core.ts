import { LONGEST_RATE_WINDOW_MS, RATE_WINDOWS_SECONDS } from '../../banhammer/rates.js';
import type { Ban } from '../../banhammer/stats.js';
import { type Clock, monotonic } from '../../time/clock.js';
import type { StoreMetric } from '../store.js';
import { RateBuckets } from './rate-buckets.js';
import { RingPool } from './ring-pool.js';

/*
 * The memory store's synchronous core: every decision, in typed arrays, without allocating.
 *
 * A tracked (token, metric) pair is a *slot*: an index into parallel typed arrays. Its events
 * are timestamps in a ring (see ring-pool.ts) holding at least the last `limit + 1` of them
 * for the metric's largest limit, so a threshold decision is one read: the threshold trips
 * when the `(limit + 1)`-th newest event, the current one included, lies inside the window.
 * That is exact for every window length, however busy the token.
 *
 * Rates are counted from the ring too, exactly, for as long as the ring still holds every
 * event of the last hour. The first time a full ring would drop an event younger than an hour,
 * the slot gets bucketed counters (rate-buckets.ts), filled from the ring, and its rates are
 * bucketed from then on (within 1/60 of each window, see banhammer/rates.ts).
 *
 * Memory: each metric keeps its slots in a list ordered by last activity. A slot's state can
 * matter for `span` = max(longest window, longest ban, 1 hour) after its last event or ban;
 * past that (`expiresAt`) it is dropped. Each call drops at most a few expired slots from the
 * cold end, so there is never a long sweep. `maxTokens` caps the number of slots: at the cap a
 * new pair evicts the least recently active slot of a metric, passing over (a few) slots that
 * hold a ban in force.
 */

/** `thresholdState` values after `incr`. */
export const NOT_HIT = 0;
/** This event tripped the threshold: a ban started; run its actions. */
export const TRIPPED = 1;
/** The threshold's ban was in force: the event is refused; re-run its actions. */
export const BLOCKING = 2;

/** Bits of the value `incr` returns. */
export const PASSED = 1;
/** Some threshold is `TRIPPED` or `BLOCKING`: read `thresholdState`. */
export const HAS_ACTIONS = 2;

const NONE = -1;
/** Smallest ring a busy token gets, so tiny limits still keep exact rates a while. */
const MIN_RING = 16;
const INITIAL_SLOTS = 1024;
/** Expired slots dropped per call: more than the one a call can create. */
const SWEEP_PER_CALL = 2;
/** Slots holding a ban in force passed over when looking for one to evict. */
const EVICTION_PROBES = 8;

export interface MemoryCoreOptions {
  /** Most (token, metric) pairs kept; see the class comment for what is evicted. */
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
  /** Activity list: head is the most recent, tail the least. */
  head: number;
  tail: number;
}

/**
 * Seeded FNV-1a over the UTF-16 code units, mixed with the metric, finished with Murmur3's
 * avalanche so that the low bits (which pick the index position) depend on every input bit.
 */
function hashOf(token: string, metric: number, seed: number): number {
  let h = (seed ^ Math.imul(metric + 1, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  h ^= token.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function ceilLog2(n: number): number {
  let c = 0;
  while (1 << c < n) c++;
  return c;
}

export class MemoryCore {
  /** Per threshold of the metric of the last `incr`: `NOT_HIT`, `TRIPPED` or `BLOCKING`. */
  readonly thresholdState: Uint8Array;
  /** `token_rate_1m`, `_10m`, `_60m`, written by `readRates`/`readLastRates`. */
  readonly rates = new Float64Array(3);

  readonly #clock: Clock;
  readonly #tables: MetricTable[];
  readonly #maxTokens: number;
  readonly #rings: RingPool;
  readonly #buckets = new RateBuckets();
  /** Per-threshold ban ends of the slots that have ever been banned since they were created. */
  readonly #bans = new Map<number, Float64Array>();

  #capacity = 0;
  #size = 0;
  #highWater = 0;
  #freeHead = NONE;
  #lastSlot = NONE;
  #sweepMetric = 0;
  #evictions = 0;
  #expirations = 0;

  /** Random per core, so which tokens collide cannot be worked out in advance. */
  readonly #seed = (Math.random() * 0x1_0000_0000) >>> 0;
  /** Open-addressing hash index: slot + 1 per entry, 0 when empty; at most half full. */
  #index = new Int32Array(0);
  #tokens: (string | undefined)[] = [];
  #hashes = new Uint32Array(0);
  #metric = new Uint16Array(0);
  #ringBlock = new Int32Array(0);
  #ringClass = new Uint8Array(0);
  /** Where the next timestamp goes in the ring. */
  #ringNext = new Uint32Array(0);
  /** Timestamps held (≤ ring size). */
  #ringCount = new Uint32Array(0);
  #bucketBlock = new Int32Array(0);
  /** Latest end of a ban on the slot (0: never banned); a quick "may be blocked" test. */
  #blockedUntil = new Float64Array(0);
  #expiresAt = new Float64Array(0);
  #prev = new Int32Array(0);
  #next = new Int32Array(0);

  constructor(metrics: readonly StoreMetric[], clock: Clock, options: MemoryCoreOptions) {
    this.#clock = monotonic(clock);
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
      return {
        name: metric.name,
        limits,
        windowsMs,
        durationsMs,
        maxRingClass,
        spanMs,
        head: NONE,
        tail: NONE,
      };
    });
    this.thresholdState = new Uint8Array(maxThresholds);
    this.#rings = new RingPool(maxClass + 1);
    this.#grow(Math.max(16, Math.min(options.initialCapacity ?? INITIAL_SLOTS, this.#maxTokens)));
  }

  /** Tracked (token, metric) pairs. */
  get size(): number {
    return this.#size;
  }

  /** Slots dropped because they expired / because of `maxTokens`, since creation. */
  get expirations(): number {
    return this.#expirations;
  }
  get evictions(): number {
    return this.#evictions;
  }

  /** Current time on the store's (monotonic) clock. */
  now(): number {
    return this.#clock();
  }

  /**
   * Counts one event and decides it. Returns `PASSED | HAS_ACTIONS` bits; when `HAS_ACTIONS`
   * is set, `thresholdState` says which thresholds tripped or held the token blocked.
   */
  incr(token: string, metric: number): number {
    const now = this.#clock();
    const table = this.#tables[metric]!;
    const hash = hashOf(token, metric, this.#seed);
    let slot = this.#find(token, metric, hash);
    if (slot === NONE) slot = this.#create(token, metric, hash, table, now);
    else this.#touch(table, slot);
    this.#expiresAt[slot] = now + table.spanMs;
    this.#push(slot, table, now);
    this.#lastSlot = slot;

    const state = this.thresholdState;
    const limits = table.limits;
    const count = this.#ringCount[slot]!;
    const cls = this.#ringClass[slot]!;
    const ring = this.#rings.data[cls]!;
    const base = this.#ringBlock[slot]! << cls;
    const mask = (1 << cls) - 1;
    const newest = this.#ringNext[slot]! - 1;
    const bans = this.#blockedUntil[slot]! > now ? this.#bans.get(slot) : undefined;
    let flags = PASSED;
    for (let i = 0; i < limits.length; i++) {
      if (bans !== undefined && bans[i]! > now) {
        state[i] = BLOCKING;
        flags = HAS_ACTIONS;
        continue;
      }
      const limit = limits[i]!;
      // Trips when the (limit+1)-th newest event is inside (now − window, now].
      if (count > limit && ring[base + ((newest - limit) & mask)]! > now - table.windowsMs[i]!) {
        this.#startBan(slot, i, now + table.durationsMs[i]!);
        state[i] = TRIPPED;
        flags = HAS_ACTIONS;
      } else {
        state[i] = NOT_HIT;
      }
    }
    this.#sweep(table, now);
    return flags;
  }

  /** Starts a ban of `token` at `threshold` now, without counting an event. */
  ban(token: string, metric: number, threshold: number): void {
    const now = this.#clock();
    const table = this.#tables[metric]!;
    const hash = hashOf(token, metric, this.#seed);
    let slot = this.#find(token, metric, hash);
    if (slot === NONE) slot = this.#create(token, metric, hash, table, now);
    else this.#touch(table, slot);
    this.#expiresAt[slot] = Math.max(this.#expiresAt[slot]!, now + table.spanMs);
    this.#startBan(slot, threshold, now + table.durationsMs[threshold]!);
    this.#lastSlot = slot;
  }

  /** Forgets `token` for `metric`: events, rates and bans. */
  reset(token: string, metric: number): void {
    const slot = this.#find(token, metric, hashOf(token, metric, this.#seed));
    if (slot !== NONE) this.#drop(slot);
  }

  /** Writes the rates of `token` for `metric` into `rates`; false (and zeros) if untracked. */
  readRates(token: string, metric: number): boolean {
    const slot = this.#find(token, metric, hashOf(token, metric, this.#seed));
    if (slot === NONE) {
      this.rates.fill(0);
      return false;
    }
    this.#readRates(slot, this.#clock());
    return true;
  }

  /** Writes the rates of the pair that the last `incr` or `ban` touched into `rates`. */
  readLastRates(): void {
    this.#readRates(this.#lastSlot, this.#clock());
  }

  /** Bans in force for `token` and `metric`, in threshold order (allocates: not a hot path). */
  bansOf(token: string, metric: number): Ban[] {
    const slot = this.#find(token, metric, hashOf(token, metric, this.#seed));
    const out: Ban[] = [];
    if (slot === NONE) return out;
    const now = this.#clock();
    const bans = this.#blockedUntil[slot]! > now ? this.#bans.get(slot) : undefined;
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
    let slot = from;
    let visited = 0;
    while (slot < this.#highWater && visited < limit) {
      const token = this.#tokens[slot];
      if (token !== undefined) {
        visitor(token, this.#metric[slot]!);
        visited++;
      }
      slot++;
    }
    return slot < this.#highWater ? slot : NONE;
  }

  /** Thresholds of `metric` (the readable prefix of `thresholdState`). */
  thresholdCount(metric: number): number {
    return this.#tables[metric]!.limits.length;
  }

  get metricCount(): number {
    return this.#tables.length;
  }

  metricName(metric: number): string {
    return this.#tables[metric]!.name;
  }

  /** Drops up to `steps` expired slots (the store does this a little on every call). */
  sweep(steps: number): number {
    const now = this.#clock();
    let dropped = 0;
    for (let m = 0; m < this.#tables.length && dropped < steps; m++) {
      const table = this.#tables[m]!;
      while (dropped < steps && table.tail !== NONE && this.#expiresAt[table.tail]! <= now) {
        this.#drop(table.tail);
        this.#expirations++;
        dropped++;
      }
    }
    return dropped;
  }

  /** Bytes held in typed arrays (slots, rings, buckets); excludes the Maps and token strings. */
  get arrayBytes(): number {
    return (
      this.#capacity * (2 + 4 + 4 + 1 + 4 + 4 + 4 + 8 + 8 + 4 + 4) +
      this.#index.byteLength +
      this.#rings.bytes +
      this.#buckets.bytes
    );
  }

  #readRates(slot: number, now: number): void {
    const rates = this.rates;
    const bucket = this.#bucketBlock[slot]!;
    if (bucket !== NONE) {
      for (let w = 0; w < 3; w++) rates[w] = this.#buckets.rate(bucket, w, now);
      return;
    }
    // Exact: the ring still holds every event of the last hour. Binary search per window for
    // the oldest timestamp inside it.
    const count = this.#ringCount[slot]!;
    const cls = this.#ringClass[slot]!;
    const ring = this.#rings.data[cls]!;
    const base = this.#ringBlock[slot]! << cls;
    const mask = (1 << cls) - 1;
    const oldest = this.#ringNext[slot]! - count;
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

  #startBan(slot: number, threshold: number, until: number): void {
    let bans = this.#bans.get(slot);
    if (bans === undefined) {
      bans = new Float64Array(this.#tables[this.#metric[slot]!]!.limits.length);
      this.#bans.set(slot, bans);
    }
    bans[threshold] = until;
    if (until > this.#blockedUntil[slot]!) this.#blockedUntil[slot] = until;
  }

  /** Appends `now` to the slot's ring, growing it or moving the slot to buckets as needed. */
  #push(slot: number, table: MetricTable, now: number): void {
    let cls = this.#ringClass[slot]!;
    let count = this.#ringCount[slot]!;
    const size = 1 << cls;
    if (count === size) {
      if (cls < table.maxRingClass) {
        this.#growRing(slot, cls);
        cls++;
      } else {
        const ring = this.#rings.data[cls]!;
        const base = this.#ringBlock[slot]! << cls;
        const oldest = ring[base + (this.#ringNext[slot]! & (size - 1))]!;
        // The ring is about to lose an event the hourly rate still counts: bucket from now on.
        if (this.#bucketBlock[slot] === NONE && oldest > now - LONGEST_RATE_WINDOW_MS) {
          this.#startBuckets(slot);
        }
        count--;
      }
    }
    const ring = this.#rings.data[cls]!;
    const next = this.#ringNext[slot]!;
    ring[(this.#ringBlock[slot]! << cls) + (next & ((1 << cls) - 1))] = now;
    // Kept modulo 2^31 so it stays a small integer; only its low bits index the ring.
    this.#ringNext[slot] = (next + 1) & 0x7fff_ffff;
    this.#ringCount[slot] = count + 1;
    const bucket = this.#bucketBlock[slot]!;
    if (bucket !== NONE) this.#buckets.add(bucket, now);
  }

  /** Moves a full ring of class `cls` to a block twice the size, oldest event first. */
  #growRing(slot: number, cls: number): void {
    const oldBlock = this.#ringBlock[slot]!;
    const block = this.#rings.alloc(cls + 1);
    const from = this.#rings.data[cls]!;
    const to = this.#rings.data[cls + 1]!;
    const size = 1 << cls;
    const start = this.#ringNext[slot]! & (size - 1);
    const fromBase = oldBlock << cls;
    const toBase = block << (cls + 1);
    for (let k = 0; k < size; k++) to[toBase + k] = from[fromBase + ((start + k) & (size - 1))]!;
    this.#rings.free(cls, oldBlock);
    this.#ringBlock[slot] = block;
    this.#ringClass[slot] = cls + 1;
    this.#ringNext[slot] = size;
  }

  #startBuckets(slot: number): void {
    const bucket = this.#buckets.alloc();
    const cls = this.#ringClass[slot]!;
    const ring = this.#rings.data[cls]!;
    const base = this.#ringBlock[slot]! << cls;
    const mask = (1 << cls) - 1;
    const count = this.#ringCount[slot]!;
    const oldest = this.#ringNext[slot]! - count;
    for (let k = 0; k < count; k++) this.#buckets.add(bucket, ring[base + ((oldest + k) & mask)]!);
    this.#bucketBlock[slot] = bucket;
  }

  /** The slot of (token, metric), or `NONE`. Linear probing over `#index`. */
  #find(token: string, metric: number, hash: number): number {
    const index = this.#index;
    const mask = index.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = index[at]!;
      if (entry === 0) return NONE;
      const slot = entry - 1;
      if (
        this.#hashes[slot] === hash &&
        this.#metric[slot] === metric &&
        this.#tokens[slot] === token
      ) {
        return slot;
      }
    }
  }

  #indexInsert(slot: number, hash: number): void {
    if ((this.#size + 1) * 2 > this.#index.length) this.#growIndex();
    const index = this.#index;
    const mask = index.length - 1;
    let at = hash & mask;
    while (index[at] !== 0) at = (at + 1) & mask;
    index[at] = slot + 1;
  }

  /** Removes a slot from the index by backward shifting, so no tombstones pile up. */
  #indexRemove(slot: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let hole = this.#hashes[slot]! & mask;
    while (index[hole] !== slot + 1) hole = (hole + 1) & mask;
    let at = hole;
    for (;;) {
      at = (at + 1) & mask;
      const entry = index[at]!;
      if (entry === 0) break;
      const home = this.#hashes[entry - 1]! & mask;
      // Move the entry back into the hole unless its home lies cyclically in (hole, at].
      const stays = hole <= at ? home > hole && home <= at : home > hole || home <= at;
      if (!stays) {
        index[hole] = entry;
        hole = at;
      }
    }
    index[hole] = 0;
  }

  /** Doubles the index. O(size), at each doubling only; `initialCapacity` presizes it. */
  #growIndex(): void {
    const old = this.#index;
    const index = new Int32Array(old.length * 2);
    const mask = index.length - 1;
    for (let k = 0; k < old.length; k++) {
      const entry = old[k]!;
      if (entry === 0) continue;
      let at = this.#hashes[entry - 1]! & mask;
      while (index[at] !== 0) at = (at + 1) & mask;
      index[at] = entry;
    }
    this.#index = index;
  }

  #create(token: string, metric: number, hash: number, table: MetricTable, now: number): number {
    this.#sweep(table, now);
    if (this.#size >= this.#maxTokens) this.#evictFor(table, now);
    let slot: number;
    if (this.#freeHead !== NONE) {
      slot = this.#freeHead;
      this.#freeHead = this.#next[slot]!;
    } else {
      if (this.#highWater === this.#capacity) {
        this.#grow(Math.min(this.#capacity * 2, Math.max(this.#maxTokens, 16)));
      }
      slot = this.#highWater++;
    }
    this.#tokens[slot] = token;
    this.#metric[slot] = metric;
    this.#ringBlock[slot] = this.#rings.alloc(0);
    this.#ringClass[slot] = 0;
    this.#ringNext[slot] = 0;
    this.#ringCount[slot] = 0;
    this.#bucketBlock[slot] = NONE;
    this.#blockedUntil[slot] = 0;
    this.#expiresAt[slot] = now + table.spanMs;
    this.#prev[slot] = NONE;
    this.#next[slot] = table.head;
    if (table.head !== NONE) this.#prev[table.head] = slot;
    table.head = slot;
    if (table.tail === NONE) table.tail = slot;
    this.#hashes[slot] = hash;
    this.#indexInsert(slot, hash);
    this.#size++;
    return slot;
  }

  /** Frees a slot; at the cap this is what makes room. */
  #drop(slot: number): void {
    const table = this.#tables[this.#metric[slot]!]!;
    this.#indexRemove(slot);
    this.#unlink(table, slot);
    this.#rings.free(this.#ringClass[slot]!, this.#ringBlock[slot]!);
    const bucket = this.#bucketBlock[slot]!;
    if (bucket !== NONE) this.#buckets.free(bucket);
    if (this.#bans.size !== 0) this.#bans.delete(slot);
    this.#tokens[slot] = undefined;
    this.#next[slot] = this.#freeHead;
    this.#freeHead = slot;
    this.#size--;
    if (this.#lastSlot === slot) this.#lastSlot = NONE;
  }

  /** Drops expired slots from the cold end: this metric's, then one other metric's. */
  #sweep(table: MetricTable, now: number): void {
    for (let k = 0; k < SWEEP_PER_CALL; k++) {
      const tail = table.tail;
      if (tail === NONE || this.#expiresAt[tail]! > now) break;
      this.#drop(tail);
      this.#expirations++;
    }
    const tables = this.#tables;
    if (tables.length > 1) {
      this.#sweepMetric = (this.#sweepMetric + 1) % tables.length;
      const other = tables[this.#sweepMetric]!;
      if (other.tail !== NONE && this.#expiresAt[other.tail]! <= now) {
        this.#drop(other.tail);
        this.#expirations++;
      }
    }
  }

  /** At the cap: evicts the least recently active slot of `table` (or of another metric when
   *  `table` has none), passing over up to `EVICTION_PROBES` slots that hold a ban in force. */
  #evictFor(table: MetricTable, now: number): void {
    let victimTable = table;
    if (victimTable.tail === NONE) {
      for (const candidate of this.#tables) {
        if (candidate.tail !== NONE) {
          victimTable = candidate;
          break;
        }
      }
    }
    let victim = victimTable.tail;
    for (let probe = 0; probe < EVICTION_PROBES && this.#blockedUntil[victim]! > now; probe++) {
      // Keep the banned slot: move it to the warm end and look at the next coldest.
      this.#touch(victimTable, victim);
      victim = victimTable.tail;
    }
    this.#drop(victim);
    this.#evictions++;
  }

  /** Moves a slot to the warm end of its metric's list. */
  #touch(table: MetricTable, slot: number): void {
    if (table.head === slot) return;
    this.#unlink(table, slot);
    this.#prev[slot] = NONE;
    this.#next[slot] = table.head;
    if (table.head !== NONE) this.#prev[table.head] = slot;
    table.head = slot;
    if (table.tail === NONE) table.tail = slot;
  }

  #unlink(table: MetricTable, slot: number): void {
    const prev = this.#prev[slot]!;
    const next = this.#next[slot]!;
    if (prev !== NONE) this.#next[prev] = next;
    else table.head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else table.tail = prev;
  }

  #grow(capacity: number): void {
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
      old: T,
      make: (n: number) => T,
    ): T => {
      const bigger = make(capacity);
      bigger.set(old);
      return bigger;
    };
    this.#metric = grow(this.#metric, (n) => new Uint16Array(n));
    this.#hashes = grow(this.#hashes, (n) => new Uint32Array(n));
    if (this.#index.length === 0) {
      let size = 16;
      while (size < capacity * 2) size *= 2;
      this.#index = new Int32Array(size);
    }
    this.#ringBlock = grow(this.#ringBlock, (n) => new Int32Array(n));
    this.#ringClass = grow(this.#ringClass, (n) => new Uint8Array(n));
    this.#ringNext = grow(this.#ringNext, (n) => new Uint32Array(n));
    this.#ringCount = grow(this.#ringCount, (n) => new Uint32Array(n));
    this.#bucketBlock = grow(this.#bucketBlock, (n) => new Int32Array(n));
    this.#blockedUntil = grow(this.#blockedUntil, (n) => new Float64Array(n));
    this.#expiresAt = grow(this.#expiresAt, (n) => new Float64Array(n));
    this.#prev = grow(this.#prev, (n) => new Int32Array(n));
    this.#next = grow(this.#next, (n) => new Int32Array(n));
    this.#capacity = capacity;
  }
}
