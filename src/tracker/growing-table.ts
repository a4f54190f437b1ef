import { CapacityError } from '../errors.js';
import { sharedUint32 } from '../shared-arrays.js';
import { IncrementalDoubling } from '../tables/incremental-doubling.js';

/**
 * The address tables: open addressing with linear probing in one flat `Uint32Array` of
 * fixed-stride slots (key words, then a count; count 0 = empty), power-of-two capacity,
 * doubled incrementally (`src/tables/incremental-doubling.ts`) when the load passes
 * `MAX_LOAD`, so no request pays for a whole rehash.
 */
export const MAX_LOAD = 0.75;
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

export abstract class GrowingTable extends IncrementalDoubling<Uint32Array> {
  protected readonly seed: number;
  #growAt: number;
  #size = 0;

  constructor(stride: number, expectedEntries: number, seed: number) {
    const capacity = capacityFor(expectedEntries);
    // The count, the last word of a slot, is what marks it occupied.
    super(stride, stride - 1, capacity);
    this.seed = seed;
    this.#growAt = Math.floor(capacity * MAX_LOAD);
  }

  protected allocate(length: number): Uint32Array {
    return sharedUint32(length);
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
    this.replaceTable(capacity);
    this.#growAt = Math.floor(capacity * MAX_LOAD);
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
    if (this.#size > this.#growAt) this.#grow();
  }

  #grow(): void {
    if (this.mask + 1 >= MAX_CAPACITY) {
      throw new CapacityError(
        'IpTracker',
        `the address table is full (${this.#size} addresses in ${MAX_CAPACITY} slots)`,
      );
    }
    this.startDoubling();
    this.#growAt = Math.floor((this.mask + 1) * MAX_LOAD);
  }
}
