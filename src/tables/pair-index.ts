/*
 * An open-addressing index of (entry, hash) pairs in one `Int32Array`, two words a position:
 * `index[2p]` is the entry (a record id + 1, so 0 means empty) and `index[2p + 1]` the key's
 * full hash, so a probe compares hashes without touching the record, and a move never has to
 * re-hash a key. Positions are a power of two; a key's home is `hash & mask`, and collisions
 * probe linearly. Lookups compare keys, which only the owner can do, so they are written by
 * the owner; placing and removing are the same everywhere and live here.
 *
 * Used by the tracker's top-K set, the memory store's (token, metric) index and the check of
 * a saved store's image that no pair is in it twice.
 */

/** Puts `entry` (> 0) at the first empty position of its probe run. The key must be absent. */
export function placePair(index: Int32Array, mask: number, entry: number, hash: number): void {
  let at = hash & mask;
  while (index[at << 1] !== 0) at = (at + 1) & mask;
  index[at << 1] = entry;
  index[(at << 1) + 1] = hash;
}

/**
 * Removes `entry`, whose key hashes to `hash`, by backward shifting: later pairs of the same
 * probe run move into the hole when their home allows it, so every pair left stays reachable
 * from its home and no tombstones pile up. Returns false (changing nothing) if `entry` is
 * not in the index.
 */
export function removePair(index: Int32Array, mask: number, entry: number, hash: number): boolean {
  let hole = hash & mask;
  for (;;) {
    const found = index[hole << 1]!;
    if (found === entry) break;
    if (found === 0) return false;
    hole = (hole + 1) & mask;
  }
  for (let at = (hole + 1) & mask; ; at = (at + 1) & mask) {
    const moving = index[at << 1]!;
    if (moving === 0) break;
    const movingHash = index[(at << 1) + 1]!;
    if (mayFillHole(movingHash & mask, hole, at)) {
      index[hole << 1] = moving;
      index[(hole << 1) + 1] = movingHash;
      hole = at;
    }
  }
  index[hole << 1] = 0;
  return true;
}

/**
 * Whether the pair at position `at`, whose home is `home`, may move back to the hole at
 * `hole` (earlier in the same run): it may unless its home lies cyclically in (hole, at],
 * where moving it would put it before its home and out of reach.
 */
export function mayFillHole(home: number, hole: number, at: number): boolean {
  return hole < at ? home <= hole || home > at : home <= hole && home > at;
}

/** Bits of home position one bucket of `sortByHome` spans: 512 positions, 4 KB of index. */
const HOME_SPAN_BITS = 9;

/**
 * The first `count` (entry, hash) pairs ordered by their homes in an index of `mask + 1`
 * positions, a bucket of nearby homes at a time (a counting sort on the home's top bits; within
 * a bucket they keep their order). Placing or probing a million pairs in arrival order costs a
 * cache and TLB miss each (~250 ns a pair, restoring a 1M-pair memory store); in this order the
 * index is swept front to back. Linear probing keeps every pair reachable from its home in
 * whatever order they are placed, so the index answers the same either way.
 */
export function sortByHome(
  entries: Int32Array,
  hashes: Int32Array,
  count: number,
  mask: number,
): { entries: Int32Array; hashes: Int32Array } {
  const buckets = Math.max(1, (mask + 1) >>> HOME_SPAN_BITS);
  const next = new Uint32Array(buckets + 1);
  for (let i = 0; i < count; i++) next[((hashes[i]! & mask) >>> HOME_SPAN_BITS) + 1]!++;
  for (let b = 1; b <= buckets; b++) next[b]! += next[b - 1]!;
  const sortedEntries = new Int32Array(count);
  const sortedHashes = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const hash = hashes[i]!;
    const at = next[(hash & mask) >>> HOME_SPAN_BITS]!++;
    sortedEntries[at] = entries[i]!;
    sortedHashes[at] = hash;
  }
  return { entries: sortedEntries, hashes: sortedHashes };
}
