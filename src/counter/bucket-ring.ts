import type { StrategyState } from './strategy.js';

export type Cells = Uint8Array | Uint16Array | Uint32Array;

/**
 * Per-slot rings of time buckets, the state shared by the bucketed strategies. Bucket `b`
 * holds the hits with `floor(at / bucketMs) === b`. Each slot keeps `size` consecutive
 * buckets ending at its newest one; a hit newer than that advances the ring and zeroes the
 * buckets it passes, a hit older than the ring is dropped (no query can reach it).
 *
 * Subclasses decide what a cell holds (a count, a Morris exponent) through `bump`, `value`
 * and `valid`; the slot arithmetic lives here once.
 */
export abstract class BucketRing<C extends Cells> implements StrategyState {
  protected readonly bucketMs: number;
  protected readonly size: number;
  protected cells: C;
  /** Absolute index of each slot's newest bucket; `-Infinity` while the slot is empty. */
  protected newest: Float64Array;
  /** Where each slot's newest bucket sits in its ring, `0 … size-1`. */
  protected position: Uint32Array;
  #live = 0;

  constructor(bucketMs: number, size: number, empty: C) {
    this.bucketMs = bucketMs;
    this.size = size;
    this.cells = empty;
    this.newest = new Float64Array(0);
    this.position = new Uint32Array(0);
  }

  /** A zeroed cell array of `length` cells. */
  protected abstract allocate(length: number): C;
  /** Adds one hit to a cell. */
  protected abstract bump(cell: number): void;
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
    const newest = new Float64Array(capacity).fill(Number.NEGATIVE_INFINITY);
    newest.set(this.newest);
    this.newest = newest;
    const position = new Uint32Array(capacity);
    position.set(this.position);
    this.position = position;
  }

  record(slot: number, at: number, _now: number): number {
    const bucket = Math.floor(at / this.bucketMs);
    const newest = this.newest[slot]!;
    if (bucket > newest) {
      let dropped = 0;
      if (newest === Number.NEGATIVE_INFINITY) {
        this.#live++;
        this.position[slot] = 0;
      } else {
        dropped = this.#advance(slot, bucket - newest);
      }
      this.newest[slot] = bucket;
      this.bump(slot * this.size + this.position[slot]!);
      return dropped;
    }
    const age = newest - bucket;
    if (age >= this.size) return 1;
    let index = this.position[slot]! - age;
    if (index < 0) index += this.size;
    this.bump(slot * this.size + index);
    return 0;
  }

  clear(slot: number): number {
    if (this.newest[slot] === Number.NEGATIVE_INFINITY) return 0;
    const base = slot * this.size;
    let held = 0;
    for (let cell = base; cell < base + this.size; cell++) held += this.value(cell);
    this.cells.fill(0, base, base + this.size);
    this.newest[slot] = Number.NEGATIVE_INFINITY;
    this.#live--;
    return held;
  }

  /** The sum of the buckets from the one holding `now - spanMs` through the newest. */
  query(slot: number, now: number, spanMs: number): number {
    const newest = this.newest[slot]!;
    const from = Math.max(Math.floor((now - spanMs) / this.bucketMs), newest - this.size + 1);
    if (from > newest) return 0;
    const base = slot * this.size;
    let index = this.position[slot]! - (newest - from);
    if (index < 0) index += this.size;
    let sum = 0;
    for (let bucket = from; bucket <= newest; bucket++) {
      sum += this.value(base + index);
      if (++index === this.size) index = 0;
    }
    return sum;
  }

  /** `[newest bucket, its cell, the one before, …]`, trailing empty cells left out. */
  save(slot: number): number[] {
    const newest = this.newest[slot]!;
    if (newest === Number.NEGATIVE_INFINITY) return [];
    const out = [newest];
    const base = slot * this.size;
    let index = this.position[slot]!;
    for (let k = 0; k < this.size; k++) {
      out.push(this.cells[base + index]!);
      if (--index < 0) index = this.size - 1;
    }
    while (out.length > 1 && out[out.length - 1] === 0) out.pop();
    return out;
  }

  load(slot: number, data: readonly number[]): void {
    if (data.length === 0) return;
    const newest = data[0]!;
    if (!Number.isSafeInteger(newest)) throw new Error(`newest bucket ${newest} is not an integer`);
    if (data.length > this.size + 1) {
      throw new Error(`${data.length - 1} buckets, the strategy keeps ${this.size}`);
    }
    for (let k = 1; k < data.length; k++) {
      if (!this.valid(data[k]!)) throw new Error(`bucket content ${data[k]} is out of range`);
    }
    const base = slot * this.size;
    for (let k = 1; k < data.length; k++) {
      this.cells[base + ((this.size - (k - 1)) % this.size)] = data[k]!;
    }
    this.newest[slot] = newest;
    this.position[slot] = 0;
    this.#live++;
  }

  /** Moves a slot's newest bucket `steps` ahead, zeroing the buckets that fall out; returns
   *  how many hits they held. */
  #advance(slot: number, steps: number): number {
    const base = slot * this.size;
    let position = this.position[slot]!;
    let dropped = 0;
    for (let n = Math.min(steps, this.size); n > 0; n--) {
      if (++position === this.size) position = 0;
      const cell = base + position;
      dropped += this.value(cell);
      this.cells[cell] = 0;
    }
    this.position[slot] = position;
    return dropped;
  }
}
