/*
 * The memory store's slot records: one 64-byte record (a cache line) per tracked (token,
 * metric) pair, in one shared buffer seen through an Int32 and a Float64 view. At a million
 * tokens a decision is bound by cache misses, so everything a decision reads sits in the one
 * record: the hash check, the ring's place, the ban summary, the expiry and, for a token seen
 * once, its only timestamp.
 */

/** "No slot": a free-list end, a pair not found, a slot without rate buckets. */
export const NONE = -1;

// The record of a slot: 16 Int32 words = 8 Float64 words = 64 bytes.
export const REC_SHIFT_I32 = 4;
export const REC_SHIFT_F64 = 3;
export const I_HASH = 0;
/** Next free slot while the slot is free (its hash is only needed while it is in use). */
export const I_NEXT_FREE = 0;
export const I_METRIC = 1;
/** Ring block in the pool of its class (unused for class 0, which lives in the record). */
export const I_RING_BLOCK = 2;
/** log2 of the ring's size. */
export const I_RING_CLASS = 3;
/** Where the next timestamp goes in the ring (kept modulo 2^31). */
export const I_RING_NEXT = 4;
/** Timestamps held (≤ ring size). */
export const I_RING_COUNT = 5;
/** Rate bucket block, or NONE. */
export const I_BUCKET = 6;
export const I_FLAGS = 7;
/** The slot's block of ban ends (ban-ends.ts), or NONE. */
export const I_BANS = 8;
/** The clock's correction count when the slot was last settled (see `MemoryCore#settle`). */
export const I_SETTLED = 9;
/** Latest end of a ban on the slot (0: never banned): a quick "may be blocked" test. */
export const F_BLOCKED_UNTIL = 5;
/** When nothing in the slot can matter any more. */
export const F_EXPIRES_AT = 6;
/** The ring while it has a single slot (class 0). */
export const F_INLINE_RING = 7;

/** `I_FLAGS` bits. */
export const IN_USE = 1;
/** Used since the hand last passed (CLOCK's reference bit). */
export const REFERENCED = 2;

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

export class SlotRecords {
  /** Slots the buffer holds. */
  capacity = 0;
  /** The records, on a shared buffer (see shared-arrays.ts for why). */
  #buffer = new SharedArrayBuffer(0);
  i32 = new Int32Array(this.#buffer);
  f64 = new Float64Array(this.#buffer);

  /** Reserves room for `min(maxSlots, RESERVED_SLOTS)` slots, or at least `initial`. */
  constructor(initial: number, maxSlots: number) {
    try {
      this.grow(Math.max(initial, Math.min(RESERVED_SLOTS, maxSlots)));
    } catch (error) {
      // Where address space is committed up front (vm.overcommit_memory=2, ulimit -v), the
      // reservation may be refused: start small and double instead.
      if (!(error instanceof RangeError)) throw error;
      this.grow(initial);
    }
  }

  /** Moves the records to a buffer of `capacity` slots. The views are replaced: callers
   *  read `i32`/`f64` afresh after anything that may grow. */
  grow(capacity: number): void {
    const buffer = new SharedArrayBuffer(capacity * 64);
    new Uint8Array(buffer).set(new Uint8Array(this.#buffer));
    this.#buffer = buffer;
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.capacity = capacity;
  }
}
