import { GrowingTable, MAX_COUNT } from './growing-table.js';
import { hashIPv4 } from './hash.js';

const STRIDE = 2; // [address, count]

/** Request counts of IPv4 addresses, keyed by the address as an unsigned 32-bit integer. */
export class IPv4Counts extends GrowingTable {
  constructor(expectedEntries: number, seed: number) {
    super(STRIDE, expectedEntries, seed);
  }

  hash(word: number): number {
    return hashIPv4(word, this.seed);
  }

  /**
   * Adds one request for the address in `words[0]` (whose `hash` the caller computed) and
   * returns its count. The address arrives in its array, not as a number, because a word
   * above 2^31 − 1 passed as an argument would be boxed on the heap when the call is not
   * inlined.
   */
  increment(words: Uint32Array, hash: number): number {
    if (this.old !== null) this.migrateStep();
    const word = words[0]!;
    const slots = this.slots;
    const mask = this.mask;
    let i = hash & mask;
    for (;;) {
      const base = i * STRIDE;
      const count = slots[base + 1]!;
      if (count === 0) break;
      if (slots[base] === word) {
        if (count === MAX_COUNT) return count;
        slots[base + 1] = count + 1;
        return count + 1;
      }
      i = (i + 1) & mask;
    }
    if (this.old !== null) {
      const counted = this.#incrementUnmigrated(word, hash);
      if (counted !== 0) return counted;
    }
    slots[i * STRIDE] = word;
    slots[i * STRIDE + 1] = 1;
    this.noteInsert();
    return 1;
  }

  /**
   * Adds `delta` (≥ 1) requests for the address in `words[0]`, saturating like `increment`;
   * true when the address was new. How a frozen tracker's overlay is merged back
   * (`IpTracker#exportState`).
   */
  add(words: Uint32Array, hash: number, delta: number): boolean {
    const first = this.increment(words, hash);
    if (delta === 1 || first === MAX_COUNT) return first === 1;
    const count = Math.min(first - 1 + delta, MAX_COUNT);
    const word = words[0]!;
    // `increment` left the key in the new table, or above the cursor in the old one.
    const at = this.#find(this.slots, this.mask, word, hash);
    if (at >= 0) this.slots[at + 1] = count;
    else this.old![this.#find(this.old!, this.oldMask, word, hash) + 1] = count;
    return first === 1;
  }

  /** The count of `word` if it sits at position `from` or later (no migration running),
   *  else 0: what a draining overlay has not merged yet. */
  countFrom(word: number, hash: number, from: number): number {
    const at = this.#find(this.slots, this.mask, word, hash);
    return at >= 0 && at / STRIDE >= from ? this.slots[at + 1]! : 0;
  }

  protected hashAt(array: Uint32Array, base: number): number {
    return this.hash(array[base]!);
  }

  /** The count of `word`, 0 when never seen. */
  get(word: number, hash: number): number {
    const found = this.#find(this.slots, this.mask, word, hash);
    if (found >= 0) return this.slots[found + 1]!;
    const old = this.old;
    if (old === null) return 0;
    const base = this.#find(old, this.oldMask, word, hash);
    return base >= 0 && base / STRIDE >= this.cursor ? old[base + 1]! : 0;
  }

  #find(slots: Uint32Array, mask: number, word: number, hash: number): number {
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const base = i * STRIDE;
      if (slots[base + 1] === 0) return -1;
      if (slots[base] === word) return base;
    }
  }

  #incrementUnmigrated(word: number, hash: number): number {
    const old = this.old!;
    const base = this.#find(old, this.oldMask, word, hash);
    if (base < 0 || base / STRIDE < this.cursor) return 0;
    const count = old[base + 1]!;
    if (count === MAX_COUNT) return count;
    old[base + 1] = count + 1;
    return count + 1;
  }

  protected place(old: Uint32Array, from: number): void {
    const word = old[from]!;
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hash(word) & mask;
    while (slots[i * STRIDE + 1] !== 0) i = (i + 1) & mask;
    slots[i * STRIDE] = word;
    slots[i * STRIDE + 1] = old[from + 1]!;
  }
}
