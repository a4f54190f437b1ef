import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mayFillHole, placePair, removePair, sortByHome } from '../../src/tables/pair-index.js';

/** The position of `entry`, probing from its home the way every owner's lookup does. */
function probe(index: Int32Array, mask: number, entry: number, hash: number): number {
  for (let at = hash & mask; ; at = (at + 1) & mask) {
    const found = index[at << 1]!;
    if (found === 0) return -1;
    if (found === entry && index[(at << 1) + 1] === hash) return at;
  }
}

const operations = fc.array(
  fc.record({
    remove: fc.boolean(),
    // Few distinct entries and a narrow hash range force long, wrapping probe runs.
    entry: fc.integer({ min: 1, max: 40 }),
    hash: fc.integer({ min: -8, max: 8 }),
  }),
  { maxLength: 300 },
);

describe('pair index', () => {
  it('keeps every live pair reachable from its home after any mix of places and removes', () => {
    fc.assert(
      fc.property(fc.constantFrom(3, 5, 6), operations, (bits, ops) => {
        const positions = 1 << bits;
        const mask = positions - 1;
        const index = new Int32Array(positions * 2);
        const live = new Map<number, number>(); // entry → hash, the oracle
        for (const { remove, entry, hash } of ops) {
          if (remove) {
            const present = live.has(entry);
            expect(removePair(index, mask, entry, live.get(entry) ?? hash)).toBe(present);
            live.delete(entry);
          } else if (!live.has(entry) && live.size < positions - 1) {
            placePair(index, mask, entry, hash);
            live.set(entry, hash);
          }
          for (const [e, h] of live) expect(probe(index, mask, e, h)).toBeGreaterThanOrEqual(0);
          let occupied = 0;
          for (let at = 0; at < positions; at++) if (index[at << 1] !== 0) occupied++;
          expect(occupied).toBe(live.size); // removals leave no tombstones
        }
      }),
    );
  });

  it('refuses to remove what it does not hold, changing nothing', () => {
    const index = new Int32Array(16 * 2);
    placePair(index, 15, 1, 3);
    placePair(index, 15, 2, 3);
    const before = index.slice();
    expect(removePair(index, 15, 3, 3)).toBe(false);
    expect(removePair(index, 15, 1, 4)).toBe(false); // right entry, wrong run
    expect(index).toEqual(before);
  });

  it('lets a pair fill a hole exactly when its home is not cyclically in (hole, at]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        (hole, distance, home) => {
          const at = (hole + distance) & 15;
          let homeInRange = false;
          for (let p = (hole + 1) & 15; ; p = (p + 1) & 15) {
            if (p === home) homeInRange = true;
            if (p === at) break;
          }
          expect(mayFillHole(home, hole, at)).toBe(!homeInRange);
        },
      ),
    );
  });

  it('sortByHome: the same pairs, by bucket of home, each bucket in arrival order; placed so, all reachable', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 13 }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 2000 }),
        (bits, given) => {
          const positions = 1 << bits;
          const mask = positions - 1;
          const count = Math.min(given.length, positions >> 1);
          const entries = Int32Array.from({ length: count + 3 }, (_, i) => i + 1);
          const hashes = Int32Array.from([...given.slice(0, count), 7, 7, 7]); // past count: ignored
          const sorted = sortByHome(entries, hashes, count, mask);
          expect(sorted.entries.length).toBe(count);
          const bucket = (hash: number) => (hash & mask) >>> 9;
          const seen = new Set<number>();
          for (let i = 0; i < count; i++) {
            const entry = sorted.entries[i]!;
            expect(sorted.hashes[i]).toBe(hashes[entry - 1]);
            seen.add(entry);
            if (i === 0) continue;
            const previous = sorted.entries[i - 1]!;
            const [b, a] = [bucket(sorted.hashes[i]!), bucket(sorted.hashes[i - 1]!)];
            expect(b).toBeGreaterThanOrEqual(a);
            if (a === b) expect(entry).toBeGreaterThan(previous);
          }
          expect(seen.size).toBe(count);
          const index = new Int32Array(positions * 2);
          for (let i = 0; i < count; i++) {
            placePair(index, mask, sorted.entries[i]!, sorted.hashes[i]!);
          }
          for (let i = 0; i < count; i++) {
            expect(probe(index, mask, entries[i]!, hashes[i]!)).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});
