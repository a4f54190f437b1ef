import { grown } from './options.js';
import type { StrategyState } from './strategy.js';

export type Cells = Uint8Array | Uint16Array | Uint32Array;

/** Per-slot fields in `meta`, side by side so one record touches one cache line for them. */
const NEWEST = 0;
const POSITION = 1;
const TOTAL = 2;
const META = 3;

/**
 * Per-slot rings of time buckets, the state shared by the bucketed strategies. Bucket `b`
 * holds the hits with `floor(at / bucketMs) === b`. Each slot keeps `size` consecutive
 * buckets ending at its newest one; a hit newer than that advances the ring and zeroes the
 * buckets it passes, a hit older than the ring is dropped (no query can reach it).
 *
 * Each slot also keeps the total of its ring, so a span covering most of the ring is read as
 * the total minus the few buckets outside it: a query reads at most half the ring.
 *
 * Subclasses decide what a cell holds (a count, a Morris exponent) through `bump`, `value`
 * and `valid`; the slot arithmetic lives here once.
 */
export abstract class BucketRing<C extends Cells> implements StrategyState {
  protected readonly bucketMs: number;
  protected readonly size: number;
  protected cells: C;
  /** `[newest bucket index (-Infinity while empty), its ring position, ring total]` per slot. */
  protected meta: Float64Array;
  /** Whether `TOTAL` is exact (integer counts) and may answer queries. */
  readonly #totalsExact: boolean;
  #live = 0;

  constructor(bucketMs: number, size: number, empty: C, totalsExact: boolean) {
    this.bucketMs = bucketMs;
    this.size = size;
    this.cells = empty;
    this.meta = new Float64Array(0);
    this.#totalsExact = totalsExact;
  }

  /** A zeroed cell array of `length` cells. */
  protected abstract allocate(length: number): C;
  /** Adds one hit to a cell; returns how much its value grew. */
  protected abstract bump(cell: number): number;
  /** Adds `hits` (a sum of cell values) to a cell; returns how much its value grew. */
  protected abstract add(cell: number, hits: number): number;
  /** How many hits a cell stands for. */
  protected abstract value(cell: number): number;
  /** Whether a saved number can be a cell's content. */
  protected abstract valid(content: number): boolean;

  get entries(): number {
    return this.#live * this.size;
  }

  resize(capacity: number): void {
    const cells = this.allocate(capacity * this.size);
    cells.set(this.cells);
    this.cells = cells;
    const meta = grown(this.meta, capacity * META);
    for (let m = this.meta.length; m < meta.length; m += META) {
      meta[m + NEWEST] = Number.NEGATIVE_INFINITY;
    }
    this.meta = meta;
  }

  record(slot: number, at: number, _now: number): number {
    const bucket = Math.floor(at / this.bucketMs);
    const m = slot * META;
    const newest = this.meta[m + NEWEST]!;
    let dropped = 0;
    let cell: number;
    if (bucket > newest) {
      if (newest === Number.NEGATIVE_INFINITY) {
        this.#live++;
        this.meta[m + POSITION] = 0;
      } else {
        dropped = this.#advance(slot, bucket - newest);
      }
      this.meta[m + NEWEST] = bucket;
      cell = slot * this.size + this.meta[m + POSITION]!;
    } else {
      const age = newest - bucket;
      if (age >= this.size) return 1;
      let index = this.meta[m + POSITION]! - age;
      if (index < 0) index += this.size;
      cell = slot * this.size + index;
    }
    this.meta[m + TOTAL] = this.meta[m + TOTAL]! + this.bump(cell);
    return dropped;
  }

  clear(slot: number): number {
    const m = slot * META;
    if (this.meta[m + NEWEST] === Number.NEGATIVE_INFINITY) return 0;
    const base = slot * this.size;
    let held = 0;
    for (let cell = base; cell < base + this.size; cell++) held += this.value(cell);
    this.cells.fill(0, base, base + this.size);
    this.meta[m + NEWEST] = Number.NEGATIVE_INFINITY;
    this.meta[m + TOTAL] = 0;
    this.#live--;
    return held;
  }

  /** Folds the buckets after the one holding `now` into it, which becomes the newest. */
  clampTo(slot: number, now: number): void {
    const m = slot * META;
    const newest = this.meta[m + NEWEST]!;
    const target = Math.floor(now / this.bucketMs);
    if (!(newest > target)) return;
    const base = slot * this.size;
    const ahead = Math.min(newest - target, this.size);
    let position = this.meta[m + POSITION]!;
    let moved = 0;
    for (let n = 0; n < ahead; n++) {
      moved += this.value(base + position);
      this.cells[base + position] = 0;
      if (--position < 0) position = this.size - 1;
    }
    // `position` is now the cell of bucket `newest - ahead`: the target's when it was in the
    // ring, and a zeroed cell as good as any when the whole ring lay ahead.
    this.meta[m + NEWEST] = target;
    this.meta[m + POSITION] = position;
    const total = ahead === this.size ? 0 : this.meta[m + TOTAL]! - moved;
    this.meta[m + TOTAL] = total + this.add(base + position, moved);
  }

  /** The sum of the buckets from the one holding `now - spanMs` through the newest. */
  query(slot: number, now: number, spanMs: number): number {
    return this.sumFrom(slot, Math.floor((now - spanMs) / this.bucketMs));
  }

  /** The sum of a slot's buckets from bucket index `first` through its newest. */
  protected sumFrom(slot: number, first: number): number {
    const m = slot * META;
    const newest = this.meta[m + NEWEST]!;
    if (first > newest) return 0;
    const oldest = newest - this.size + 1;
    if (first <= oldest)
      return this.#totalsExact ? this.meta[m + TOTAL]! : this.#sum(slot, oldest, newest);
    if (this.#totalsExact && first - oldest < newest - first + 1) {
      return this.meta[m + TOTAL]! - this.#sum(slot, oldest, first - 1);
    }
    return this.#sum(slot, first, newest);
  }

  /** What bucket index `bucket` of a slot holds (0 outside its ring). */
  protected bucketValue(slot: number, bucket: number): number {
    const m = slot * META;
    const age = this.meta[m + NEWEST]! - bucket;
    if (!(age >= 0 && age < this.size)) return 0;
    let index = this.meta[m + POSITION]! - age;
    if (index < 0) index += this.size;
    return this.value(slot * this.size + index);
  }

  /** The sum of buckets `from … to` (inside the ring, `to` at most the newest). */
  #sum(slot: number, from: number, to: number): number {
    const m = slot * META;
    let index = this.meta[m + POSITION]! - (this.meta[m + NEWEST]! - from);
    if (index < 0) index += this.size;
    const base = slot * this.size;
    let sum = 0;
    for (let bucket = from; bucket <= to; bucket++) {
      sum += this.value(base + index);
      if (++index === this.size) index = 0;
    }
    return sum;
  }

  /** `[newest bucket, its cell, the one before, …]`, trailing empty cells left out. */
  save(slot: number): number[] {
    const m = slot * META;
    const newest = this.meta[m + NEWEST]!;
    if (newest === Number.NEGATIVE_INFINITY) return [];
    const out = [newest];
    const base = slot * this.size;
    let index = this.meta[m + POSITION]!;
    for (let k = 0; k < this.size; k++) {
      out.push(this.cells[base + index]!);
      if (--index < 0) index = this.size - 1;
    }
    while (out.length > 1 && out[out.length - 1] === 0) out.pop();
    return out;
  }

  load(slot: number, data: readonly number[], newestAt: number): void {
    if (data.length === 0) return;
    const newest = data[0]!;
    if (!Number.isSafeInteger(newest)) throw new Error(`newest bucket ${newest} is not an integer`);
    if (newest > Math.floor(newestAt / this.bucketMs)) {
      throw new Error(`newest bucket ${newest} starts after the key's newest hit (${newestAt})`);
    }
    if (data.length > this.size + 1) {
      throw new Error(`${data.length - 1} buckets, the strategy keeps ${this.size}`);
    }
    for (let k = 1; k < data.length; k++) {
      if (!this.valid(data[k]!)) throw new Error(`bucket content ${data[k]} is out of range`);
    }
    const base = slot * this.size;
    let total = 0;
    for (let k = 1; k < data.length; k++) {
      const cell = base + ((this.size - (k - 1)) % this.size);
      this.cells[cell] = data[k]!;
      total += this.value(cell);
    }
    const m = slot * META;
    this.meta[m + NEWEST] = newest;
    this.meta[m + POSITION] = 0;
    this.meta[m + TOTAL] = total;
    this.#live++;
  }

  /** Moves a slot's newest bucket `steps` ahead, zeroing the buckets that fall out; returns
   *  how many hits they held. */
  #advance(slot: number, steps: number): number {
    const m = slot * META;
    const base = slot * this.size;
    let position = this.meta[m + POSITION]!;
    let dropped = 0;
    for (let n = Math.min(steps, this.size); n > 0; n--) {
      if (++position === this.size) position = 0;
      const cell = base + position;
      dropped += this.value(cell);
      this.cells[cell] = 0;
    }
    this.meta[m + POSITION] = position;
    // A ring that emptied restarts its total at exactly 0 (no drift for estimated values).
    this.meta[m + TOTAL] = steps >= this.size ? 0 : this.meta[m + TOTAL]! - dropped;
    return dropped;
  }
}
