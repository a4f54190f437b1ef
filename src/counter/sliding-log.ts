import { optionsObject } from '../options.js';
import { grown, requiredSpan } from './options.js';
import type { CountingStrategy, StrategyState } from './strategy.js';

export interface SlidingLogOptions {
  /** How far back queries may reach, in seconds; every hit is kept this long, so memory per
   *  key is `maxWindowSeconds × hit rate × 8 bytes`. A longer query is an error. */
  maxWindowSeconds: number;
}

/**
 * Every hit's timestamp, kept until it is older than `maxWindowSeconds`: exact answers for
 * any span up to that. Record is amortised O(1) (O(k) when a hit arrives k places out of
 * order), query is O(log n) by binary search.
 */
export class SlidingLog implements CountingStrategy {
  readonly kind = 'sliding-log';
  readonly params: Readonly<{ maxWindowSeconds: number }>;
  readonly maxWindowSeconds: number;
  readonly retentionSeconds: number;

  constructor(options: SlidingLogOptions) {
    const { maxWindowSeconds: given } = optionsObject('SlidingLog', options);
    const maxWindowSeconds = requiredSpan('SlidingLog.maxWindowSeconds', given);
    this.params = Object.freeze({ maxWindowSeconds });
    this.maxWindowSeconds = maxWindowSeconds;
    this.retentionSeconds = maxWindowSeconds;
  }

  create(): StrategyState {
    return new TimestampRings(this.maxWindowSeconds * 1000);
  }
}

/** Smallest ring a key gets; rings double when full and halve when three quarters empty. */
const MIN_RING = 4;

/** One power-of-two ring of timestamps per slot, oldest first, sorted. */
class TimestampRings implements StrategyState {
  readonly #keepMs: number;
  #rings: (Float64Array | undefined)[] = [];
  /** Ring index of each slot's oldest timestamp. */
  #start = new Uint32Array(0);
  #length = new Uint32Array(0);
  #entries = 0;

  constructor(keepMs: number) {
    this.#keepMs = keepMs;
  }

  get entries(): number {
    return this.#entries;
  }

  resize(capacity: number): void {
    this.#start = grown(this.#start, capacity);
    this.#length = grown(this.#length, capacity);
    while (this.#rings.length < capacity) this.#rings.push(undefined);
  }

  record(slot: number, at: number, now: number): number {
    const cutoff = now - this.#keepMs;
    const dropped = this.#expire(slot, cutoff);
    if (at <= cutoff) return dropped + 1;
    const length = this.#length[slot]!;
    let ring = this.#rings[slot];
    if (ring === undefined) {
      ring = new Float64Array(MIN_RING);
      this.#rings[slot] = ring;
      this.#start[slot] = 0;
    } else if (length === ring.length) {
      ring = this.#reshape(slot, ring, length, ring.length * 2);
    }
    const mask = ring.length - 1;
    const start = this.#start[slot]!;
    if (length === 0 || at >= ring[(start + length - 1) & mask]!) {
      ring[(start + length) & mask] = at;
    } else {
      // Out of order: find the first timestamp later than `at`, shift the rest up by one.
      const place = this.#firstAfter(ring, start, length, at);
      for (let i = length; i > place; i--) ring[(start + i) & mask] = ring[(start + i - 1) & mask]!;
      ring[(start + place) & mask] = at;
    }
    this.#length[slot] = length + 1;
    this.#entries++;
    return dropped;
  }

  query(slot: number, now: number, spanMs: number): number {
    const ring = this.#rings[slot];
    if (ring === undefined) return 0;
    const length = this.#length[slot]!;
    return length - this.#firstAfter(ring, this.#start[slot]!, length, now - spanMs);
  }

  clear(slot: number): number {
    const held = this.#length[slot]!;
    this.#rings[slot] = undefined;
    this.#length[slot] = 0;
    this.#entries -= held;
    return held;
  }

  /** The newest timestamps are the ones after `now`: they become `now`, order kept. */
  clampTo(slot: number, now: number): void {
    const ring = this.#rings[slot];
    if (ring === undefined) return;
    const mask = ring.length - 1;
    const start = this.#start[slot]!;
    for (let i = this.#length[slot]! - 1; i >= 0; i--) {
      const index = (start + i) & mask;
      if (!(ring[index]! > now)) return;
      ring[index] = now;
    }
  }

  replay(slot: number, into: (at: number) => void): void {
    const ring = this.#rings[slot];
    if (ring === undefined) return;
    const mask = ring.length - 1;
    const start = this.#start[slot]!;
    const length = this.#length[slot]!;
    for (let i = 0; i < length; i++) into(ring[(start + i) & mask]!);
  }

  save(slot: number): number[] {
    const ring = this.#rings[slot];
    const length = this.#length[slot]!;
    const out: number[] = new Array(length);
    if (ring === undefined) return out;
    const mask = ring.length - 1;
    const start = this.#start[slot]!;
    for (let i = 0; i < length; i++) out[i] = ring[(start + i) & mask]!;
    return out;
  }

  load(slot: number, data: readonly number[], newestAt: number): void {
    let previous = Number.NEGATIVE_INFINITY;
    for (const at of data) {
      if (!Number.isFinite(at)) throw new Error(`timestamp ${at} is not a finite number`);
      if (at < previous)
        throw new Error(`timestamps are not in ascending order (${at} after ${previous})`);
      previous = at;
    }
    if (previous > newestAt) {
      throw new Error(`timestamp ${previous} is after the key's newest hit (${newestAt})`);
    }
    if (data.length === 0) return;
    let size = MIN_RING;
    while (size < data.length) size *= 2;
    const ring = new Float64Array(size);
    ring.set(data);
    this.#rings[slot] = ring;
    this.#start[slot] = 0;
    this.#length[slot] = data.length;
    this.#entries += data.length;
  }

  /** Index (from the oldest, 0 … length) of the first timestamp later than `after`. */
  #firstAfter(ring: Float64Array, start: number, length: number, after: number): number {
    const mask = ring.length - 1;
    let low = 0;
    let high = length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ring[(start + middle) & mask]! > after) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Drops the slot's timestamps at or before `cutoff`; shrinks the ring when it got sparse. */
  #expire(slot: number, cutoff: number): number {
    const ring = this.#rings[slot];
    if (ring === undefined) return 0;
    const mask = ring.length - 1;
    let start = this.#start[slot]!;
    let length = this.#length[slot]!;
    let dropped = 0;
    while (length > 0 && ring[start]! <= cutoff) {
      start = (start + 1) & mask;
      length--;
      dropped++;
    }
    if (dropped === 0) return 0;
    this.#start[slot] = start;
    this.#length[slot] = length;
    this.#entries -= dropped;
    if (ring.length > MIN_RING && length * 4 <= ring.length) {
      this.#reshape(slot, ring, length, ring.length / 2);
    }
    return dropped;
  }

  /** Copies a slot's timestamps, oldest first, into a fresh ring of `size`. */
  #reshape(slot: number, ring: Float64Array, length: number, size: number): Float64Array {
    const next = new Float64Array(size);
    const start = this.#start[slot]!;
    const head = Math.min(length, ring.length - start);
    next.set(ring.subarray(start, start + head));
    if (head < length) next.set(ring.subarray(0, length - head), head);
    this.#rings[slot] = next;
    this.#start[slot] = 0;
    return next;
  }
}
