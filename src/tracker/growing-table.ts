import { sharedUint32 } from '../shared-arrays.js';

/**
 * The growth mechanism shared by the address tables: open addressing with linear probing in
 * one flat `Uint32Array` of fixed-stride slots (key words, then a count; count 0 = empty),
 * power-of-two capacity, and *incremental* doubling.
 *
 * Doubling a 16M-slot table in one go would stall the request that triggers it for a few
 * hundred milliseconds. Instead, when the load passes `MAX_LOAD`, a table twice the size is
 * allocated (the allocator hands out lazily zeroed pages, so that is cheap) and every
 * following call moves `MIGRATION_STEP` old slots into it. An address lives in exactly one
 * place: the new table, or the old table at an index not yet passed by the cursor. Lookups
 * try the new table first and fall back to the old one only on a miss, and the old table is
 * dropped when the cursor reaches its end.
 *
 * Migration finishes long before the new table can need to grow again: doubling leaves room
 * for `MAX_LOAD × capacity` more inserts, and each call moves 32 slots, so the cursor
 * crosses the old table after 1/32 of its capacity in calls.
 *
 * Why 32 slots a call: while a migration runs, every new address is looked up in both tables
 * (two cache misses instead of one), so the shorter the migration, the cheaper growth is.
 * Moving a slot costs a few nanoseconds, so 32 of them add well under a microsecond to a call,
 * while unhinted inserts got ~30% cheaper than with 4 per call (210 → 145 ns per insert,
 * CPU time, 4M random addresses into an unhinted table).
 */
export const MAX_LOAD = 0.75;
export const MIGRATION_STEP = 32;
/** 2^10 slots: small enough for a tracker that sees a handful of addresses. */
export const MIN_CAPACITY = 1 << 10;
/** 2^28 slots (201M addresses at full load): keeps every slot index × stride an int32. */
export const MAX_CAPACITY = 1 << 28;

/** Smallest power-of-two capacity that holds `entries` below the maximum load. */
export function capacityFor(entries: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < MAX_CAPACITY && capacity * MAX_LOAD < entries) capacity *= 2;
  return capacity;
}

/** Counts saturate here instead of wrapping to 0, which would mark the slot empty. */
export const MAX_COUNT = 0xffff_ffff;

export abstract class GrowingTable {
  /** Words per slot: the key words followed by the count. */
  protected readonly stride: number;
  protected slots: Uint32Array;
  protected mask: number;
  /** The table being migrated away from, or null. */
  protected old: Uint32Array | null = null;
  protected oldMask = 0;
  /** Old slots below this index have moved to `slots`. */
  protected cursor = 0;
  protected readonly seed: number;
  #growAt: number;
  #size = 0;

  constructor(stride: number, expectedEntries: number, seed: number) {
    this.stride = stride;
    this.seed = seed;
    const capacity = capacityFor(expectedEntries);
    this.slots = sharedUint32(capacity * stride);
    this.mask = capacity - 1;
    this.#growAt = Math.floor(capacity * MAX_LOAD);
  }

  /** Distinct keys held. */
  get size(): number {
    return this.#size;
  }

  /** Slots allocated, in both tables while a migration runs. */
  get capacity(): number {
    return this.mask + 1 + (this.old === null ? 0 : this.oldMask + 1);
  }

  /** Bytes held by the slot arrays. */
  get bytes(): number {
    return this.slots.byteLength + (this.old === null ? 0 : this.old.byteLength);
  }

  /**
   * Forgets every key. The new table is presized for `expectedEntries`; the old arrays are
   * left to the collector rather than zeroed, because filling hundreds of megabytes is the
   * stall this class exists to avoid.
   */
  reset(expectedEntries: number): void {
    const capacity = capacityFor(expectedEntries);
    this.slots = sharedUint32(capacity * this.stride);
    this.mask = capacity - 1;
    this.#growAt = Math.floor(capacity * MAX_LOAD);
    this.old = null;
    this.cursor = 0;
    this.#size = 0;
  }

  /**
   * Calls `fn(array, base)` for every key held, where `array[base ..]` is its slot (key words,
   * then the count): the current table, then the not yet migrated part of the old one.
   * Allocates nothing; the table must not change during the walk.
   */
  visit(fn: (slots: Uint32Array, base: number) => void): void {
    const stride = this.stride;
    const slots = this.slots;
    for (let base = 0; base < slots.length; base += stride) {
      if (slots[base + stride - 1] !== 0) fn(slots, base);
    }
    const old = this.old;
    if (old === null) return;
    for (let base = this.cursor * stride; base < old.length; base += stride) {
      if (old[base + stride - 1] !== 0) fn(old, base);
    }
  }

  /** Called by a subclass after it filled a fresh slot. */
  protected noteInsert(): void {
    this.#size++;
    if (this.#size > this.#growAt) this.#startGrowth();
  }

  /** Moves the next few old slots; called once per operation while `old` is set. */
  protected migrateStep(): void {
    const old = this.old!;
    const oldCapacity = this.oldMask + 1;
    const end = Math.min(this.cursor + MIGRATION_STEP, oldCapacity);
    const stride = this.stride;
    for (let i = this.cursor; i < end; i++) {
      if (old[i * stride + stride - 1] !== 0) this.place(old, i * stride);
    }
    this.cursor = end;
    if (end === oldCapacity) this.old = null;
  }

  /** Copies the slot at `old[base]` into `slots`, where its key is known to be absent. */
  protected abstract place(old: Uint32Array, base: number): void;

  #startGrowth(): void {
    if (this.mask + 1 >= MAX_CAPACITY) {
      throw new RangeError(`address table is full (${this.#size} addresses)`);
    }
    // Unreachable with MIGRATION_STEP ≥ 2 (see the class comment); kept so that a changed
    // constant can never leave three generations alive.
    while (this.old !== null) this.migrateStep();
    const capacity = (this.mask + 1) * 2;
    this.old = this.slots;
    this.oldMask = this.mask;
    this.cursor = 0;
    this.slots = sharedUint32(capacity * this.stride);
    this.mask = capacity - 1;
    this.#growAt = Math.floor(capacity * MAX_LOAD);
  }
}
