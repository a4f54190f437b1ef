import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IncrementalDoubling, MIGRATION_STEP } from '../../src/tables/incremental-doubling.js';
import { mix32 } from '../../src/tables/mix.js';

/** The smallest table that uses the doubling: a set of positive keys, one word a position,
 *  doubled at half load; lookups follow the rule the owners follow (new table, then old
 *  above the cursor). */
class KeySet extends IncrementalDoubling<Int32Array> {
  size = 0;
  doublings = 0;
  /** Doublings that found the previous migration unfinished and had to complete it. */
  forcedCompletions = 0;
  readonly #step: number;

  constructor(step = MIGRATION_STEP) {
    super(1, 0, 4);
    this.#step = step;
  }

  protected override startDoubling(): void {
    this.doublings++;
    if (this.old !== null) this.forcedCompletions++;
    super.startDoubling();
  }

  protected allocate(length: number): Int32Array {
    return new Int32Array(length);
  }

  protected place(old: Int32Array, base: number): void {
    this.#insertInto(old[base]!);
  }

  add(key: number): void {
    if (this.old !== null) this.migrateStep(this.#step);
    if (this.has(key)) return;
    this.#insertInto(key);
    this.size++;
    if (this.size * 2 > this.mask + 1) this.startDoubling();
  }

  has(key: number): boolean {
    if (this.#find(this.slots, this.mask, key) >= 0) return true;
    if (this.old === null) return false;
    const at = this.#find(this.old, this.oldMask, key);
    return at >= this.cursor;
  }

  #insertInto(key: number): void {
    let at = mix32(key) & this.mask;
    while (this.slots[at] !== 0) at = (at + 1) & this.mask;
    this.slots[at] = key;
  }

  #find(slots: Int32Array, mask: number, key: number): number {
    for (let at = mix32(key) & mask; ; at = (at + 1) & mask) {
      if (slots[at] === 0) return -1;
      if (slots[at] === key) return at;
    }
  }
}

describe('IncrementalDoubling', () => {
  it('finds every key in exactly one generation at every step of any number of doublings', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 2000 }), (keys) => {
        const table = new KeySet();
        const oracle = new Set<number>();
        for (const key of keys) {
          table.add(key);
          oracle.add(key);
          expect(table.size).toBe(oracle.size);
          for (const probe of [key, key + 1]) expect(table.has(probe)).toBe(oracle.has(probe));
        }
        for (const key of oracle) expect(table.has(key)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('finishes each migration before the next doubling is due, so two generations at most', () => {
    const table = new KeySet();
    for (let key = 1; key <= 100_000; key++) table.add(key);
    expect(table.doublings).toBeGreaterThanOrEqual(15);
    expect(table.forcedCompletions).toBe(0);
  });

  it('stays correct when a too-small step leaves a migration unfinished (the guard)', () => {
    const table = new KeySet(1);
    for (let key = 1; key <= 5000; key++) table.add(key);
    expect(table.forcedCompletions).toBeGreaterThan(0);
    for (let key = 1; key <= 5000; key++) expect(table.has(key)).toBe(true);
    expect(table.has(5001)).toBe(false);
  });
});
