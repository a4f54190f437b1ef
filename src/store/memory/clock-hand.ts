import {
  F_BLOCKED_UNTIL,
  F_EXPIRES_AT,
  I_FLAGS,
  IN_USE,
  NONE,
  REC_SHIFT_F64,
  REC_SHIFT_I32,
  REFERENCED,
  type SlotRecords,
} from './records.js';

/** Slots the hand may look at to find one to evict before it settles for any unbanned one. */
const EVICTION_SCAN = 32;

/**
 * The hand that walks the memory store's slots, freeing the dead ones a few at a time (no call
 * ever sweeps the table) and, at the `maxTokens` cap, choosing which pair to evict with the
 * CLOCK (second-chance) rule, an approximation of least-recently-used: slots used since the
 * hand last passed get another round, and slots holding a ban in force are passed over.
 */
export class ClockHand {
  /** Slots freed because their state was dead / evicted because of `maxTokens`. */
  expirations = 0;
  evictions = 0;
  readonly #records: SlotRecords;
  /** Frees a slot (the core's bookkeeping: index, rings, bans, free list). */
  readonly #release: (slot: number) => void;
  #hand = 0;

  constructor(records: SlotRecords, release: (slot: number) => void) {
    this.#records = records;
    this.#release = release;
  }

  /** Moves the hand over `steps` of the slots below `highWater`, freeing the dead ones;
   *  returns how many it freed. */
  sweep(now: number, steps: number, highWater: number): number {
    if (highWater === 0) return 0;
    const { i32, f64 } = this.#records;
    let hand = this.#hand;
    let freed = 0;
    for (let k = 0; k < steps; k++) {
      if (++hand >= highWater) hand = 0;
      if (
        (i32[(hand << REC_SHIFT_I32) + I_FLAGS]! & IN_USE) !== 0 &&
        f64[(hand << REC_SHIFT_F64) + F_EXPIRES_AT]! <= now
      ) {
        this.#release(hand);
        this.expirations++;
        freed++;
      }
    }
    this.#hand = hand;
    return freed;
  }

  /**
   * At the cap: frees one slot chosen by the CLOCK rule. The hand frees the first dead slot,
   * or else the first one neither used since the hand last passed (clearing that mark as it
   * goes) nor holding a ban in force. After `EVICTION_SCAN` slots it settles for the first
   * unbanned one it saw, and if every one was banned, for the slot under the hand.
   */
  evict(now: number, highWater: number): void {
    const { i32, f64 } = this.#records;
    let hand = this.#hand;
    let fallback = NONE;
    let victim = NONE;
    for (let k = 0; k < EVICTION_SCAN && victim === NONE; k++) {
      if (++hand >= highWater) hand = 0;
      const rec = hand << REC_SHIFT_I32;
      const flags = i32[rec + I_FLAGS]!;
      if ((flags & IN_USE) === 0) continue;
      const frec = hand << REC_SHIFT_F64;
      if (f64[frec + F_EXPIRES_AT]! <= now) victim = hand;
      else if (f64[frec + F_BLOCKED_UNTIL]! > now) continue;
      else if ((flags & REFERENCED) !== 0) {
        i32[rec + I_FLAGS] = IN_USE;
        if (fallback === NONE) fallback = hand;
      } else victim = hand;
    }
    if (victim === NONE) victim = fallback;
    if (victim === NONE) {
      // Every slot looked at holds a ban: take the next slot in use.
      do {
        if (++hand >= highWater) hand = 0;
      } while ((i32[(hand << REC_SHIFT_I32) + I_FLAGS]! & IN_USE) === 0);
      victim = hand;
    }
    this.#hand = hand;
    this.#release(victim);
    this.evictions++;
  }
}
