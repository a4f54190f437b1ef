import {
  F_BLOCKED_UNTIL,
  I_BANS,
  NONE,
  REC_SHIFT_F64,
  REC_SHIFT_I32,
  type SlotRecords,
} from './records.js';
import { RingPool } from './ring-pool.js';

/**
 * The per-threshold ban ends of the slots banned since they were created: one block per
 * banned slot in a ring pool (ring-pool.ts), in the size class of its metric's threshold
 * count, referenced from the record (`I_BANS`). 8 bytes a threshold, rounded up to a power of
 * two, where a typed array per ban cost ~200 bytes and a Map entry more. The record keeps the
 * latest end (`F_BLOCKED_UNTIL`), so a slot never banned, or no longer, is decided without
 * reading its block.
 */
export class BanEnds {
  readonly #records: SlotRecords;
  readonly #pool: RingPool;

  /** `classes`: block size classes needed, 2^(classes − 1) ≥ the most thresholds a metric has. */
  constructor(records: SlotRecords, classes: number) {
    this.#records = records;
    this.#pool = new RingPool(classes);
  }

  get bytes(): number {
    return this.#pool.bytes;
  }

  /** Gives a fresh slot no bans. */
  clear(slot: number): void {
    this.#records.i32[(slot << REC_SHIFT_I32) + I_BANS] = NONE;
    this.#records.f64[(slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL] = 0;
  }

  /** The end of `slot`'s ban at `threshold` (0 if none); `cls` is its metric's class. */
  endOf(slot: number, cls: number, threshold: number): number {
    const block = this.#records.i32[(slot << REC_SHIFT_I32) + I_BANS]!;
    return block === NONE ? 0 : this.#pool.data[cls]![(block << cls) + threshold]!;
  }

  /** Bans `slot` at `threshold` until `until`. */
  start(slot: number, cls: number, threshold: number, until: number): void {
    const { i32, f64 } = this.#records;
    const rec = slot << REC_SHIFT_I32;
    let block = i32[rec + I_BANS]!;
    if (block === NONE) {
      block = this.#pool.alloc(cls);
      this.#pool.data[cls]!.fill(0, block << cls, (block + 1) << cls);
      i32[rec + I_BANS] = block;
    }
    this.#pool.data[cls]![(block << cls) + threshold] = until;
    const at = (slot << REC_SHIFT_F64) + F_BLOCKED_UNTIL;
    if (until > f64[at]!) f64[at] = until;
  }

  /** Gives `slot`'s block back to the pool. */
  release(slot: number, cls: number): void {
    const block = this.#records.i32[(slot << REC_SHIFT_I32) + I_BANS]!;
    if (block !== NONE) this.#pool.free(cls, block);
  }

  /** After a clock correction to `now`: each ban lasts at most its duration from now. */
  settle(slot: number, cls: number, durationsMs: Float64Array, now: number): void {
    const { i32, f64 } = this.#records;
    const frec = slot << REC_SHIFT_F64;
    const block = i32[(slot << REC_SHIFT_I32) + I_BANS]!;
    if (!(f64[frec + F_BLOCKED_UNTIL]! > now) || block === NONE) return;
    const ends = this.#pool.data[cls]!;
    const base = block << cls;
    let blockedUntil = 0;
    for (let i = 0; i < durationsMs.length; i++) {
      ends[base + i] = Math.min(ends[base + i]!, now + durationsMs[i]!);
      blockedUntil = Math.max(blockedUntil, ends[base + i]!);
    }
    f64[frec + F_BLOCKED_UNTIL] = blockedUntil;
  }
}
