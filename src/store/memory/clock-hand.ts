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

/** Slots the eviction hand looks at for one not used since it last passed before it settles
 *  for the first unbanned one; if all of them hold a ban, the table counts as full of bans. */
const EVICTION_SCAN = 32;

/** What the hands need of the core: to bring a slot up to date, and to free one. */
export interface SlotKeeper {
  /** Settles a slot stamped before a clock correction (see `MemoryCore#settle`). */
  settleIfCorrected(slot: number, now: number): void;
  /** Frees a slot: index, rings, bans, free list. */
  release(slot: number): void;
}

/**
 * The two hands that walk the memory store's slots.
 *
 * The dead-state hand frees slots whose state can no longer matter, a few per new pair, so no
 * call ever sweeps the table and the table only grows while pairs stay alive.
 *
 * At the `maxTokens` cap, the eviction hand picks the slot a new pair takes, with the CLOCK
 * (second-chance) rule, an approximation of least-recently-used over every pair of every
 * metric: slots used since the hand last passed get another round, and slots holding a ban in
 * force are never taken, since the bans are what the cap protects (a flood of tokens that
 * each earn a ban must not unban a real attacker). It stops on the slot it frees, so in a
 * flood it moves one slot per new pair and every slot gets its turn; the dead-state hand is a
 * separate one, so its steps cannot make the eviction hand stride over whole residue classes
 * of slots. When every slot it looks at (`EVICTION_SCAN`) holds a ban in force, the table is
 * full of bans (the core's `whenFull` decides); it resumes there on the next new pair, so a
 * run of bans does not hide the unbanned slots past it for long.
 */
export class ClockHand {
  /** Slots freed because their state was dead / evicted because of `maxTokens`. */
  expirations = 0;
  evictions = 0;
  readonly #records: SlotRecords;
  readonly #keeper: SlotKeeper;
  #sweepHand = 0;
  #evictionHand = 0;

  constructor(records: SlotRecords, keeper: SlotKeeper) {
    this.#records = records;
    this.#keeper = keeper;
  }

  /** Moves the dead-state hand over `steps` of the slots below `highWater`, freeing the dead
   *  ones; returns how many it freed. */
  sweep(now: number, steps: number, highWater: number): number {
    if (highWater === 0) return 0;
    const { i32, f64 } = this.#records;
    let hand = this.#sweepHand;
    let freed = 0;
    for (let k = 0; k < steps; k++) {
      if (++hand >= highWater) hand = 0;
      if ((i32[(hand << REC_SHIFT_I32) + I_FLAGS]! & IN_USE) === 0) continue;
      this.#keeper.settleIfCorrected(hand, now);
      if (f64[(hand << REC_SHIFT_F64) + F_EXPIRES_AT]! <= now) {
        this.#keeper.release(hand);
        this.expirations++;
        freed++;
      }
    }
    this.#sweepHand = hand;
    return freed;
  }

  /**
   * At the cap: frees one slot chosen by the CLOCK rule, or returns false when every slot
   * looked at holds a ban in force. The hand frees the first dead slot, or else the first one
   * not used since the hand last passed (clearing that mark as it goes), never one holding a
   * ban in force. After `EVICTION_SCAN` slots it settles for the first unbanned one it saw.
   */
  evict(now: number, highWater: number): boolean {
    const { i32, f64 } = this.#records;
    let hand = this.#evictionHand;
    let fallback = NONE;
    let victim = NONE;
    let dead = false;
    for (let k = 0; k < EVICTION_SCAN && victim === NONE; k++) {
      if (++hand >= highWater) hand = 0;
      const rec = hand << REC_SHIFT_I32;
      if ((i32[rec + I_FLAGS]! & IN_USE) === 0) continue;
      this.#keeper.settleIfCorrected(hand, now);
      const flags = i32[rec + I_FLAGS]!;
      const frec = hand << REC_SHIFT_F64;
      if (f64[frec + F_EXPIRES_AT]! <= now) {
        victim = hand;
        dead = true;
      } else if (f64[frec + F_BLOCKED_UNTIL]! > now) continue;
      else if ((flags & REFERENCED) !== 0) {
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
    this.#keeper.release(victim);
    if (dead) this.expirations++;
    else this.evictions++;
    return true;
  }
}
