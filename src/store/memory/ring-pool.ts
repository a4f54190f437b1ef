import {
  type SharedFloat64Array,
  type SharedInt32Array,
  sharedFloat64,
  sharedInt32,
} from '../../shared-arrays.js';

/*
 * Timestamp rings for the memory store, carved out of a few big Float64Arrays instead of one
 * typed array per token: a small typed array costs ~100 bytes of object header, more than the
 * handful of timestamps most tokens ever hold. The core keeps the per-threshold ban ends of
 * banned pairs in a second pool of the same kind, for the same reason.
 *
 * Blocks come in power-of-two size classes (class c holds 2^c timestamps). Each class is one
 * Float64Array that doubles when it runs out of blocks, plus a stack of freed block indices.
 * A ring that fills up moves to a block of the next class, so a token costs 8 bytes per event
 * it must remember (rounded up to a power of two), and a token seen once costs 8 bytes.
 */

/** Timestamps a class starts with room for (at least one block): small classes start with
 *  many blocks, a class of 131,072-slot rings with one, so unused classes cost little. */
const INITIAL_SLOTS = 4096;
const MIN_FREE_STACK = 64;

export class RingPool {
  /** Per class: the storage, `blocks << class` timestamps. */
  readonly data: SharedFloat64Array[] = [];
  readonly #capacity: number[] = [];
  readonly #used: number[] = [];
  readonly #free: SharedInt32Array[] = [];
  readonly #freeTop: number[] = [];

  constructor(classes: number) {
    for (let c = 0; c < classes; c++) {
      this.data.push(sharedFloat64(0));
      this.#capacity.push(0);
      this.#used.push(0);
      this.#free.push(sharedInt32(0));
      this.#freeTop.push(0);
    }
  }

  /** A block of class `c`; its storage is `data[c]` from `block << c`. May replace `data[c]`. */
  alloc(c: number): number {
    const top = this.#freeTop[c]!;
    if (top > 0) {
      this.#freeTop[c] = top - 1;
      return this.#free[c]![top - 1]!;
    }
    const used = this.#used[c]!;
    if (used === this.#capacity[c]!) this.#grow(c);
    this.#used[c] = used + 1;
    return used;
  }

  free(c: number, block: number): void {
    let stack = this.#free[c]!;
    const top = this.#freeTop[c]!;
    if (top === stack.length) {
      const bigger = sharedInt32(Math.max(MIN_FREE_STACK, stack.length * 2));
      bigger.set(stack);
      this.#free[c] = bigger;
      stack = bigger;
    }
    stack[top] = block;
    this.#freeTop[c] = top + 1;
  }

  /** Bytes held by the pool's arrays (for memory reports). */
  get bytes(): number {
    let total = 0;
    for (let c = 0; c < this.data.length; c++) {
      total += this.data[c]!.byteLength + this.#free[c]!.byteLength;
    }
    return total;
  }

  #grow(c: number): void {
    const blocks = Math.max(INITIAL_SLOTS >> c, 1, this.#capacity[c]! * 2);
    const bigger = sharedFloat64(blocks << c);
    bigger.set(this.data[c]!);
    this.data[c] = bigger;
    this.#capacity[c] = blocks;
  }
}
