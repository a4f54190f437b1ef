import { LONGEST_RATE_WINDOW_MS, RATE_WINDOWS_SECONDS } from '../rates.js';
import { RateBuckets } from './rate-buckets.js';
import {
  F_INLINE_RING,
  I_BUCKET,
  I_RING_BLOCK,
  I_RING_CLASS,
  I_RING_COUNT,
  I_RING_NEXT,
  NONE,
  REC_SHIFT_F64,
  REC_SHIFT_I32,
  type SlotRecords,
} from './records.js';
import { RingPool } from './ring-pool.js';

/**
 * Each slot's event timestamps, and the rates read from them.
 *
 * A slot's events are timestamps in a ring holding at least the last `limit + 1` of them for
 * the metric's largest limit: in the record while it is one, then in ring-pool.ts blocks that
 * double as needed. So a threshold trips when the `(limit + 1)`-th newest event, the current
 * one included, lies inside the window: one read, exact for every window length, however busy
 * the token.
 *
 * Rates are counted from the ring too, exactly, while it still holds every event of the last
 * hour. The first time a full ring would drop an event younger than an hour, the slot gets
 * bucketed counters (rate-buckets.ts), filled from the ring, and its rates are bucketed from
 * then on (within 1/60 of each window, see store/rates.ts).
 */
export class EventRings {
  readonly #records: SlotRecords;
  readonly #pool: RingPool;
  readonly #buckets = new RateBuckets();

  /** `classes`: ring size classes needed, 2^(classes − 1) ≥ the largest limit + 1. */
  constructor(records: SlotRecords, classes: number) {
    this.#records = records;
    this.#pool = new RingPool(classes);
  }

  /** Bytes of the ring blocks and rate buckets. */
  get bytes(): number {
    return this.#pool.bytes + this.#buckets.bytes;
  }

  /** Gives a fresh slot an empty ring and no buckets. */
  clear(slot: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    i32[rec + I_RING_BLOCK] = 0;
    i32[rec + I_RING_CLASS] = 0;
    i32[rec + I_RING_NEXT] = 0;
    i32[rec + I_RING_COUNT] = 0;
    i32[rec + I_BUCKET] = NONE;
  }

  /** Returns a freed slot's ring block and buckets to their pools. */
  release(slot: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    const cls = i32[rec + I_RING_CLASS]!;
    if (cls > 0) this.#pool.free(cls, i32[rec + I_RING_BLOCK]!);
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) this.#buckets.free(bucket);
  }

  /**
   * For each threshold `i`, whether the slot's events exceed `limits[i]` within the last
   * `windowsMs[i]` before `now`: whether the `(limit + 1)`-th newest event lies inside
   * (now − window, now]. Writes 1 or 0 into `out[i]`; one pass, the ring located once.
   */
  exceeded(
    slot: number,
    limits: Uint32Array,
    windowsMs: Float64Array,
    now: number,
    out: Uint8Array,
  ): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    const cls = i32[rec + I_RING_CLASS]!;
    const ring = cls === 0 ? this.#records.f64 : this.#pool.data[cls]!;
    const base =
      cls === 0 ? (slot << REC_SHIFT_F64) + F_INLINE_RING : i32[rec + I_RING_BLOCK]! << cls;
    const mask = (1 << cls) - 1;
    const count = i32[rec + I_RING_COUNT]!;
    const newest = i32[rec + I_RING_NEXT]! - 1;
    for (let i = 0; i < limits.length; i++) {
      const limit = limits[i]!;
      out[i] =
        count > limit && ring[base + ((newest - limit) & mask)]! > now - windowsMs[i]! ? 1 : 0;
    }
  }

  /** Appends `now` to the slot's ring, growing it up to class `maxClass` or moving the slot
   *  to buckets as needed. */
  push(slot: number, maxClass: number, now: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    // Kept small so that it is inlined into the decision: a full ring is the rare case.
    if (i32[rec + I_RING_COUNT] === 1 << i32[rec + I_RING_CLASS]!)
      this.#makeRoom(slot, maxClass, now);
    const cls = i32[rec + I_RING_CLASS]!;
    const next = i32[rec + I_RING_NEXT]!;
    if (cls === 0) this.#records.f64[(slot << REC_SHIFT_F64) + F_INLINE_RING] = now;
    else this.#pool.data[cls]![(i32[rec + I_RING_BLOCK]! << cls) + (next & ((1 << cls) - 1))] = now;
    // Kept modulo 2^31 so it stays a small integer; only its low bits index the ring.
    i32[rec + I_RING_NEXT] = (next + 1) & 0x7fff_ffff;
    i32[rec + I_RING_COUNT]!++;
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) this.#buckets.add(bucket, now);
  }

  /** A full ring is about to take an event: it doubles, up to class `maxClass`; past that its
   *  oldest event is dropped (and the slot bucketed if that event still counts for a rate). */
  #makeRoom(slot: number, maxClass: number, now: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    const cls = i32[rec + I_RING_CLASS]!;
    if (cls < maxClass) {
      this.#grow(slot, cls);
      return;
    }
    const oldest = this.#at(slot, i32[rec + I_RING_NEXT]!);
    // The ring is about to lose an event the hourly rate still counts: bucket from now on.
    if (i32[rec + I_BUCKET] === NONE && oldest > now - LONGEST_RATE_WINDOW_MS) {
      this.#startBuckets(slot);
    }
    i32[rec + I_RING_COUNT]!--;
  }

  /**
   * After a clock correction to `now`: events stamped after `now` count as at `now` (the ring
   * stays in order, its newest stamps become `now`; bucketed rates fold their future buckets
   * into the current one).
   */
  settle(slot: number, now: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    const cls = i32[rec + I_RING_CLASS]!;
    const ring = cls === 0 ? this.#records.f64 : this.#pool.data[cls]!;
    const base =
      cls === 0 ? (slot << REC_SHIFT_F64) + F_INLINE_RING : i32[rec + I_RING_BLOCK]! << cls;
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
  }

  /** Writes the slot's `token_rate_1m`, `_10m`, `_60m` at `now` into `rates[0..2]`. */
  readRates(slot: number, now: number, rates: Float64Array): void {
    const rec = slot << REC_SHIFT_I32;
    const i32 = this.#records.i32;
    const bucket = i32[rec + I_BUCKET]!;
    if (bucket !== NONE) {
      for (let w = 0; w < 3; w++) rates[w] = this.#buckets.rate(bucket, w, now);
      return;
    }
    // Exact: the ring still holds every event of the last hour. Binary search per window for
    // the oldest timestamp inside it.
    const count = i32[rec + I_RING_COUNT]!;
    const oldest = i32[rec + I_RING_NEXT]! - count;
    for (let w = 0; w < 3; w++) {
      const cutoff = now - RATE_WINDOWS_SECONDS[w]! * 1000;
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#at(slot, oldest + mid) > cutoff) hi = mid;
        else lo = mid + 1;
      }
      rates[w] = count - lo;
    }
  }

  /** The timestamp at ring position `position` (taken modulo the ring size). */
  #at(slot: number, position: number): number {
    const cls = this.#records.i32[(slot << REC_SHIFT_I32) + I_RING_CLASS]!;
    if (cls === 0) return this.#records.f64[(slot << REC_SHIFT_F64) + F_INLINE_RING]!;
    const block = this.#records.i32[(slot << REC_SHIFT_I32) + I_RING_BLOCK]!;
    return this.#pool.data[cls]![(block << cls) + (position & ((1 << cls) - 1))]!;
  }

  /** Moves a full ring of class `cls` to a block twice the size, oldest event first. */
  #grow(slot: number, cls: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    const block = this.#pool.alloc(cls + 1);
    const to = this.#pool.data[cls + 1]!;
    const toBase = block << (cls + 1);
    const size = 1 << cls;
    const start = i32[rec + I_RING_NEXT]!;
    for (let k = 0; k < size; k++) to[toBase + k] = this.#at(slot, start + k);
    if (cls > 0) this.#pool.free(cls, i32[rec + I_RING_BLOCK]!);
    i32[rec + I_RING_BLOCK] = block;
    i32[rec + I_RING_CLASS] = cls + 1;
    i32[rec + I_RING_NEXT] = size;
  }

  #startBuckets(slot: number): void {
    const i32 = this.#records.i32;
    const rec = slot << REC_SHIFT_I32;
    const bucket = this.#buckets.alloc();
    const count = i32[rec + I_RING_COUNT]!;
    const oldest = i32[rec + I_RING_NEXT]! - count;
    for (let k = 0; k < count; k++) this.#buckets.add(bucket, this.#at(slot, oldest + k));
    i32[rec + I_BUCKET] = bucket;
  }
}
