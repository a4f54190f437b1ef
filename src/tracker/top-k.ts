import { type AddressFamily, compareAddresses } from '../ip/address.js';
import { formatAddress } from '../ip/format.js';
import { placePair, removePair } from '../tables/pair-index.js';

/** One row of a top list. */
export interface TopEntry {
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  ip: string;
  count: number;
}

/**
 * The exact top K addresses by count, kept up to date on every increment.
 *
 * Order is total: count descending, then address ascending (IPv4 before IPv6), so the set is
 * a pure function of the counts. The entries live in a binary heap whose root is the *worst*
 * of the K. Because counts only grow by one, the set stays exact with O(log K) work:
 * - an address already in the set only climbs, so it sifts away from the root;
 * - an address outside the set enters only if it now beats the root, which it replaces
 *   (everything outside was already behind the root, so the root is the right one to drop).
 * `threshold` lets the caller skip all of this for the common request whose count is below
 * the root's.
 *
 * Entries keep stable ids (their data arrays do not move while the heap reorders ids), and
 * a small open-addressing index maps an address to its id.
 */
export class TopK {
  readonly capacity: number;
  /**
   * A count above this may change the set; a count equal to it may enter only by beating
   * the root's address (an address already in the set had at least the root's count before
   * its increment, so it arrives here above the threshold). 0 while the set is not full.
   * Read on every request, so these are plain fields, not getters.
   */
  threshold = 0;
  /**
   * An IPv4 candidate whose count equals `threshold` enters iff its word is below this:
   * the root's word when the root is IPv4; 2^32 (every IPv4 address) when the root is IPv6.
   */
  v4TieBound = 0;

  #size = 0;
  readonly #counts: Uint32Array;
  readonly #families: Uint8Array;
  readonly #words: Uint32Array;
  readonly #hashes: Int32Array;
  /** heap[position] = id; the root (position 0) is the worst entry. */
  readonly #heap: Int32Array;
  /** Formatted text per id, made on the first `top()` that shows it and kept while the id
   *  holds the same address, so a polling dashboard does not re-format the list each time. */
  readonly #texts: (string | undefined)[];
  /** positions[id] = position of `id` in the heap. */
  readonly #positions: Int32Array;
  /** Address → (id + 1, hash) pairs (src/tables/pair-index.ts), on the caller's hash. */
  readonly #index: Int32Array;
  readonly #indexMask: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#counts = new Uint32Array(capacity);
    this.#families = new Uint8Array(capacity);
    this.#words = new Uint32Array(capacity * 4);
    this.#hashes = new Int32Array(capacity);
    this.#heap = new Int32Array(capacity);
    this.#positions = new Int32Array(capacity);
    this.#texts = new Array<string | undefined>(capacity).fill(undefined);
    let positions = 16;
    while (positions < capacity * 4) positions *= 2; // load ≤ 1/4 keeps probes short
    this.#index = new Int32Array(positions * 2);
    this.#indexMask = positions - 1;
  }

  get size(): number {
    return this.#size;
  }

  clear(): void {
    this.#size = 0;
    this.#index.fill(0);
    this.threshold = 0;
    this.v4TieBound = 0;
  }

  /**
   * Whether an IPv6 candidate whose count equals `threshold` beats the root (the IPv6 twin
   * of `v4TieBound`, behind a call because it compares four words).
   */
  v6TieWins(words: Uint32Array): boolean {
    const root = this.#heap[0]!;
    return (
      this.#families[root] === 6 && compareAddresses(6, words, 0, 6, this.#words, root * 4) < 0
    );
  }

  /**
   * Tells the set that the address in `words` (family, caller's `hash`) now has `count`
   * requests. Call it when `count > threshold`, or when it equals `threshold` and the tie
   * test (`v4TieBound`, `v6TieWins`) passes; other calls are harmless but wasted.
   */
  offer(family: AddressFamily, words: Uint32Array, hash: number, count: number): void {
    const id = family === 4 ? this.#findIPv4(words[0]!, hash) : this.#findIPv6(words, hash);
    if (id >= 0) {
      // The common case on skewed traffic: a hot address already in the set climbs.
      this.#counts[id] = count;
      const position = this.#positions[id]!;
      this.#siftDown(position);
      if (position === 0) this.#rootChanged();
    } else if (this.#size < this.capacity) {
      const newId = this.#size++;
      this.#store(newId, family, words, hash, count);
      this.#heap[newId] = newId;
      this.#siftUp(newId);
      this.#rootChanged();
    } else {
      const rootId = this.#heap[0]!;
      if (!this.#beats(count, family, words, 0, rootId)) return;
      this.#unindex(rootId);
      this.#store(rootId, family, words, hash, count);
      this.#siftDown(0);
      this.#rootChanged();
    }
  }

  #rootChanged(): void {
    if (this.#size < this.capacity) return; // every count may enter until the set is full
    const root = this.#heap[0]!;
    this.threshold = this.#counts[root]!;
    this.v4TieBound = this.#families[root] === 4 ? this.#words[root * 4]! : 0x1_0000_0000;
  }

  /**
   * Copies of the entries (in id order, which is no order at all: the heap is rebuilt from
   * them by `offer`), for an export: `count`, family (4 or 6) and the four address words
   * (IPv4 in the first) of each.
   */
  exportEntries(): { counts: Uint32Array; families: Uint8Array; words: Uint32Array } {
    const size = this.#size;
    const families = this.#families.slice(0, size);
    const words = this.#words.slice(0, size * 4);
    // An IPv4 entry uses one word; the other three may hold an older IPv6 entry's.
    for (let id = 0; id < size; id++) if (families[id] === 4) words.fill(0, id * 4 + 1, id * 4 + 4);
    return { counts: this.#counts.slice(0, size), families, words };
  }

  /** The best `n` entries, best first. O(K log K); allocates only the answer. */
  top(n: number): TopEntry[] {
    const ids = Array.from(this.#heap.subarray(0, this.#size));
    ids.sort((a, b) => this.#order(a, b));
    const result: TopEntry[] = [];
    const words = this.#words;
    for (let i = 0; i < ids.length && i < n; i++) {
      const id = ids[i]!;
      let ip = this.#texts[id];
      if (ip === undefined) {
        ip = formatAddress(this.#families[id] as AddressFamily, words, id * 4);
        this.#texts[id] = ip;
      }
      result.push({ ip, count: this.#counts[id]! });
    }
    return result;
  }

  /** <0 when entry `a` ranks before entry `b`. */
  #order(a: number, b: number): number {
    const countA = this.#counts[a]!;
    const countB = this.#counts[b]!;
    if (countA !== countB) return countB - countA;
    const families = this.#families;
    return compareAddresses(
      families[a] as AddressFamily,
      this.#words,
      a * 4,
      families[b] as AddressFamily,
      this.#words,
      b * 4,
    );
  }

  /** Whether a candidate (count, address at words[offset]) ranks before entry `id`. */
  #beats(count: number, family: AddressFamily, words: Uint32Array, offset: number, id: number) {
    const other = this.#counts[id]!;
    if (count !== other) return count > other;
    const families = this.#families;
    return (
      compareAddresses(family, words, offset, families[id] as AddressFamily, this.#words, id * 4) <
      0
    );
  }

  #store(id: number, family: AddressFamily, words: Uint32Array, hash: number, count: number) {
    this.#counts[id] = count;
    this.#families[id] = family;
    this.#hashes[id] = hash;
    this.#texts[id] = undefined;
    const base = id * 4;
    this.#words[base] = words[0]!;
    if (family === 6) {
      this.#words[base + 1] = words[1]!;
      this.#words[base + 2] = words[2]!;
      this.#words[base + 3] = words[3]!;
    }
    placePair(this.#index, this.#indexMask, id + 1, hash);
  }

  #findIPv4(word: number, hash: number): number {
    const mask = this.#indexMask;
    const index = this.#index;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = index[at << 1]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (
        index[(at << 1) + 1] === hash &&
        this.#words[id * 4] === word &&
        this.#families[id] === 4
      ) {
        return id;
      }
    }
  }

  #findIPv6(words: Uint32Array, hash: number): number {
    const mask = this.#indexMask;
    const index = this.#index;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = index[at << 1]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (
        index[(at << 1) + 1] === hash &&
        this.#families[id] === 6 &&
        compareAddresses(6, words, 0, 6, this.#words, id * 4) === 0
      ) {
        return id;
      }
    }
  }

  #unindex(id: number): void {
    removePair(this.#index, this.#indexMask, id + 1, this.#hashes[id]!);
  }

  #put(position: number, id: number): void {
    this.#heap[position] = id;
    this.#positions[id] = position;
  }

  /** Restores heap order after the entry at `position` got better (moves toward leaves). */
  #siftDown(position: number): void {
    const heap = this.#heap;
    const size = this.#size;
    const id = heap[position]!;
    for (;;) {
      const left = position * 2 + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && this.#order(heap[right]!, heap[left]!) > 0) child = right;
      // Stop when the worse child is still no worse than the moving entry.
      if (this.#order(heap[child]!, id) < 0) break;
      this.#put(position, heap[child]!);
      position = child;
    }
    this.#put(position, id);
  }

  /** Restores heap order after a new entry was appended at `position` (moves toward root). */
  #siftUp(position: number): void {
    const heap = this.#heap;
    const id = heap[position]!;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (this.#order(heap[parent]!, id) > 0) break;
      this.#put(position, heap[parent]!);
      position = parent;
    }
    this.#put(position, id);
  }
}
