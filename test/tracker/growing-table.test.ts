import { describe, expect, it } from 'vitest';
import { capacityFor, MAX_COUNT, MAX_LOAD, MIN_CAPACITY } from '../../src/tracker/growing-table.js';
import { IPv4Counts } from '../../src/tracker/ipv4-counts.js';
import { IPv6Counts } from '../../src/tracker/ipv6-counts.js';

/** Exposes the slots so a test can put a count near the limit without 4 billion calls. */
class ExposedIPv4 extends IPv4Counts {
  setCount(word: number, count: number): void {
    for (let base = 0; base < this.slots.length; base += 2) {
      if (this.slots[base + 1] !== 0 && this.slots[base] === word) this.slots[base + 1] = count;
    }
  }
}
class ExposedIPv6 extends IPv6Counts {
  setCount(count: number): void {
    for (let base = 4; base < this.slots.length; base += 5) {
      if (this.slots[base] !== 0) this.slots[base] = count;
    }
  }
}

/** One request for the IPv4 address `word`, the way the tracker makes it. */
function bump(v4: IPv4Counts, word: number): number {
  return v4.increment(Uint32Array.of(word), v4.hash(word));
}

describe('GrowingTable', () => {
  it('sizes tables to a power of two kept below the maximum load', () => {
    expect(capacityFor(0)).toBe(MIN_CAPACITY);
    expect(capacityFor(20_000_000)).toBe(2 ** 25);
    for (const entries of [1, 767, 768, 769, 1e5, 12_582_912, 12_582_913]) {
      const capacity = capacityFor(entries);
      expect(capacity * MAX_LOAD).toBeGreaterThanOrEqual(entries);
      expect(capacity === MIN_CAPACITY || (capacity / 2) * MAX_LOAD < entries).toBe(true);
    }
  });

  it('saturates counts instead of wrapping to zero (which would free the slot)', () => {
    const v4 = new ExposedIPv4(0, 1);
    const word = 0xc0000201;
    bump(v4, word);
    v4.setCount(word, MAX_COUNT - 1);
    expect(bump(v4, word)).toBe(MAX_COUNT);
    expect(bump(v4, word)).toBe(MAX_COUNT);
    expect(v4.get(word, v4.hash(word))).toBe(MAX_COUNT);
    expect(v4.size).toBe(1);

    const v6 = new ExposedIPv6(0, 1);
    const words = Uint32Array.of(0x20010db8, 0, 0, 1);
    v6.increment(words, v6.hash(words));
    v6.setCount(MAX_COUNT);
    expect(v6.increment(words, v6.hash(words))).toBe(MAX_COUNT);
    expect(v6.size).toBe(1);
  });

  it('doubles incrementally: old and new tables coexist, then the old one is dropped', () => {
    const v4 = new IPv4Counts(0, 7);
    const full = Math.floor(MIN_CAPACITY * MAX_LOAD);
    for (let word = 1; word <= full + 1; word++) bump(v4, word);
    // One past the load limit: a table twice the size exists beside the old one.
    expect(v4.capacity).toBe(MIN_CAPACITY * 3);
    // Mid-migration (lookups do not advance it): every address is found in one table or the
    // other, and a bump (with this seed, of an address not yet moved) counts once.
    for (let word = 1; word <= full + 1; word++) expect(v4.get(word, v4.hash(word))).toBe(1);
    expect(bump(v4, full)).toBe(2);
    expect(v4.capacity).toBe(MIN_CAPACITY * 3);
    for (let word = 1; word <= full + 1; word++) {
      expect(v4.get(word, v4.hash(word))).toBe(word === full ? 2 : 1);
    }
    bump(v4, full);
    for (let i = 0; i < MIN_CAPACITY / 4; i++) bump(v4, 1);
    expect(v4.capacity).toBe(MIN_CAPACITY * 2);
    for (let word = 2; word <= full + 1; word++) {
      expect(v4.get(word, v4.hash(word))).toBe(word === full ? 3 : 1);
    }
    expect(v4.get(1, v4.hash(1))).toBe(1 + MIN_CAPACITY / 4);
  });
});
