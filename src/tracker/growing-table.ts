import { CapacityError, SnapshotError } from '../errors.js';
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
  /** The seed of this table's hash (random per table, kept by an export). */
  readonly seed: number;
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

  /** Positions of the current table. */
  get positions(): number {
    return this.mask + 1;
  }

  /** Ends a running migration at once (for a small table about to be read by position). */
  finishMigration(): void {
    if (this.old !== null) this.migrateStep(Number.POSITIVE_INFINITY);
  }

  /** The hash of the key in `array[base ..]` (this table's seed). */
  protected abstract hashAt(array: Uint32Array, base: number): number;

  /**
   * The live arrays and the migration cursor, for an export: `old` is the table being
   * migrated away from (null when none), of which the positions from `cursor` on still hold
   * keys. Read only, and only while nothing counts into this table (the tracker freezes it).
   */
  tables(): { slots: Uint32Array; old: Uint32Array | null; cursor: number } {
    return { slots: this.slots, old: this.old, cursor: this.cursor };
  }

  /**
   * Replaces the whole table with copies of exported arrays, after checking them: power-of-two
   * lengths in bounds, an old table half the size of the new one, every key reachable from its
   * home position with no copy of itself on the way, no key in both generations, `size` keys in
   * all and load within bounds. Throws `SnapshotError` (paths from `name`, e.g. `v4`) and
   * changes nothing when a check fails. Linear in the table's size. With `adopt`, arrays on
   * `SharedArrayBuffer`s become the tables themselves (see `LoadStateOptions`).
   */
  load(
    name: string,
    slots: Uint32Array,
    old: Uint32Array | null,
    cursor: number,
    size: number,
    adopt = false,
  ) {
    const stride = this.stride;
    const positions = this.#positionsOf(`arrays.${name}Slots`, slots);
    let held = this.#checkChains(`arrays.${name}Slots`, slots, positions - 1, 0);
    // One past the load limit is a table at MAX_CAPACITY that refused to grow (CapacityError).
    if (held > Math.floor(positions * MAX_LOAD) + 1) {
      throw new SnapshotError(
        `arrays.${name}Slots`,
        `${held} keys overload ${positions} positions`,
      );
    }
    let oldPositions = 0;
    if (old !== null) {
      oldPositions = this.#positionsOf(`arrays.${name}Old`, old);
      if (oldPositions * 2 !== positions) {
        throw new SnapshotError(
          `arrays.${name}Old`,
          `must be half the size of ${name}Slots while it migrates (${(positions / 2) * stride} words), holds ${old.length}`,
        );
      }
      if (!Number.isInteger(cursor) || cursor < 0 || cursor >= oldPositions) {
        throw new SnapshotError(
          `meta.${name}Cursor`,
          `must be a whole number from 0 to ${oldPositions - 1}, got ${cursor}`,
        );
      }
      held += this.#checkChains(`arrays.${name}Old`, old, oldPositions - 1, cursor);
      let occupied = 0;
      for (let base = 0; base < old.length; base += stride)
        if (old[base + stride - 1] !== 0) occupied++;
      if (occupied === oldPositions) {
        throw new SnapshotError(
          `arrays.${name}Old`,
          'has no empty position (a lookup would never end)',
        );
      }
      // A key in both generations would be counted twice.
      for (let base = cursor * stride; base < old.length; base += stride) {
        if (old[base + stride - 1] === 0) continue;
        if (this.#chainFind(slots, positions - 1, old, base) >= 0) {
          throw new SnapshotError(
            `arrays.${name}Old`,
            `position ${base / stride} holds a key that ${name}Slots holds too`,
          );
        }
      }
    }
    if (held !== size) {
      throw new SnapshotError(`meta.${name}Size`, `says ${size} keys, the tables hold ${held}`);
    }
    if (size > Math.floor(positions * MAX_LOAD) + 1) {
      throw new SnapshotError(`meta.${name}Size`, `${size} keys overload ${positions} positions`);
    }
    this.slots = this.#own(slots, adopt);
    this.mask = positions - 1;
    this.old = old === null ? null : this.#own(old, adopt);
    this.oldMask = oldPositions - 1;
    this.cursor = old === null ? 0 : cursor;
    this.#growAt = Math.floor(positions * MAX_LOAD);
    this.#size = size;
  }

  /** `array` itself when it may be adopted, else a copy on a table of this one's own. */
  #own(array: Uint32Array, adopt: boolean): Uint32Array {
    if (adopt && array.buffer instanceof SharedArrayBuffer) return array;
    const copy = this.allocate(array.length);
    copy.set(array);
    return copy;
  }

  #positionsOf(path: string, array: Uint32Array): number {
    const positions = array.length / this.stride;
    if (
      !Number.isInteger(positions) ||
      positions < MIN_CAPACITY ||
      positions > MAX_CAPACITY ||
      (positions & (positions - 1)) !== 0
    ) {
      throw new SnapshotError(
        path,
        `must hold a power of two (${MIN_CAPACITY} to ${MAX_CAPACITY}) times ${this.stride} words, holds ${array.length}`,
      );
    }
    return positions;
  }

  /**
   * Checks that every key at a position from `from` on is found by a lookup: the positions
   * from its home up to it are all occupied and none holds the same key. Returns the keys.
   */
  #checkChains(path: string, array: Uint32Array, mask: number, from: number): number {
    const stride = this.stride;
    const countAt = stride - 1;
    let held = 0;
    for (let p = from; p <= mask; p++) {
      const base = p * stride;
      if (array[base + countAt] === 0) continue;
      held++;
      const first = array[base]!;
      for (let i = this.hashAt(array, base) & mask; i !== p; i = (i + 1) & mask) {
        const at = i * stride;
        if (array[at + countAt] === 0) {
          throw new SnapshotError(
            path,
            `the key at position ${p} cannot be reached from its home position`,
          );
        }
        // The first word tells almost every pair apart; only a match compares the rest.
        if (array[at] === first && this.#sameKey(array, at, array, base)) {
          throw new SnapshotError(path, `the key at position ${p} is also at position ${i}`);
        }
      }
    }
    return held;
  }

  /** Where `array` holds the key at `keys[base ..]`, or -1 (a lookup by probing). */
  #chainFind(array: Uint32Array, mask: number, keys: Uint32Array, base: number): number {
    const stride = this.stride;
    for (let i = this.hashAt(keys, base) & mask; ; i = (i + 1) & mask) {
      const at = i * stride;
      if (array[at + stride - 1] === 0) return -1;
      if (this.#sameKey(array, at, keys, base)) return at;
    }
  }

  #sameKey(a: Uint32Array, at: number, b: Uint32Array, bt: number): boolean {
    for (let w = 0; w < this.stride - 1; w++) if (a[at + w] !== b[bt + w]) return false;
    return true;
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
