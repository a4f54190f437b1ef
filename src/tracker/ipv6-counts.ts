import { GrowingTable, MAX_COUNT } from './growing-table.js';
import { hashIPv6 } from './hash.js';

const STRIDE = 5; // [w0, w1, w2, w3, count]

/** Request counts of IPv6 addresses, keyed by their four 32-bit words. */
export class IPv6Counts extends GrowingTable {
  constructor(expectedEntries: number, seed: number) {
    super(STRIDE, expectedEntries, seed);
  }

  hash(words: Uint32Array, offset = 0): number {
    return hashIPv6(words, offset, this.seed);
  }

  /** Adds one request for the address in `words[0..3]` and returns its count. */
  increment(words: Uint32Array, hash: number): number {
    if (this.old !== null) this.migrateStep();
    const slots = this.slots;
    const mask = this.mask;
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const w3 = words[3]!;
    let i = hash & mask;
    for (;;) {
      const base = i * STRIDE;
      const count = slots[base + 4]!;
      if (count === 0) break;
      if (
        slots[base + 3] === w3 &&
        slots[base + 2] === w2 &&
        slots[base + 1] === w1 &&
        slots[base] === w0
      ) {
        if (count === MAX_COUNT) return count;
        slots[base + 4] = count + 1;
        return count + 1;
      }
      i = (i + 1) & mask;
    }
    if (this.old !== null) {
      const counted = this.#incrementUnmigrated(words, hash);
      if (counted !== 0) return counted;
    }
    const base = i * STRIDE;
    slots[base] = w0;
    slots[base + 1] = w1;
    slots[base + 2] = w2;
    slots[base + 3] = w3;
    slots[base + 4] = 1;
    this.noteInsert();
    return 1;
  }

  /** Adds `delta` (≥ 1) requests for the address in `words[0..3]` (see `IPv4Counts#add`). */
  add(words: Uint32Array, hash: number, delta: number): boolean {
    const first = this.increment(words, hash);
    if (delta === 1 || first === MAX_COUNT) return first === 1;
    const count = Math.min(first - 1 + delta, MAX_COUNT);
    const at = this.#find(this.slots, this.mask, words, hash);
    if (at >= 0) this.slots[at + 4] = count;
    else this.old![this.#find(this.old!, this.oldMask, words, hash) + 4] = count;
    return first === 1;
  }

  /** The count of the address if it sits at position `from` or later (see
   *  `IPv4Counts#countFrom`). */
  countFrom(words: Uint32Array, hash: number, from: number): number {
    const at = this.#find(this.slots, this.mask, words, hash);
    return at >= 0 && at / STRIDE >= from ? this.slots[at + 4]! : 0;
  }

  protected hashAt(array: Uint32Array, base: number): number {
    return this.hash(array, base);
  }

  /** The count of the address in `words[0..3]`, 0 when never seen. */
  get(words: Uint32Array, hash: number): number {
    const found = this.#find(this.slots, this.mask, words, hash);
    if (found >= 0) return this.slots[found + 4]!;
    const old = this.old;
    if (old === null) return 0;
    const base = this.#find(old, this.oldMask, words, hash);
    return base >= 0 && base / STRIDE >= this.cursor ? old[base + 4]! : 0;
  }

  #find(slots: Uint32Array, mask: number, words: Uint32Array, hash: number): number {
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const base = i * STRIDE;
      if (slots[base + 4] === 0) return -1;
      if (
        slots[base + 3] === words[3] &&
        slots[base + 2] === words[2] &&
        slots[base + 1] === words[1] &&
        slots[base] === words[0]
      ) {
        return base;
      }
    }
  }

  #incrementUnmigrated(words: Uint32Array, hash: number): number {
    const old = this.old!;
    const base = this.#find(old, this.oldMask, words, hash);
    if (base < 0 || base / STRIDE < this.cursor) return 0;
    const count = old[base + 4]!;
    if (count === MAX_COUNT) return count;
    old[base + 4] = count + 1;
    return count + 1;
  }

  protected place(old: Uint32Array, from: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hash(old, from) & mask;
    while (slots[i * STRIDE + 4] !== 0) i = (i + 1) & mask;
    const base = i * STRIDE;
    for (let w = 0; w < STRIDE; w++) slots[base + w] = old[from + w]!;
  }
}
