import { describe, expect, it } from 'vitest';
import { mix32, randomSeed } from '../../src/tables/mix.js';

describe('mix32', () => {
  it('is a bijection that returns signed 32-bit integers (no boxing, no lost keys)', () => {
    const seen = new Set<number>();
    let unsigned = 0;
    for (let i = 0; i < 1 << 16; i++) {
      for (const input of [i, i << 16, -i]) {
        const h = mix32(input);
        if ((h | 0) !== h) unsigned++;
      }
      seen.add(mix32(i));
    }
    expect(unsigned).toBe(0);
    expect(seen.size).toBe(1 << 16);
  });

  it('spreads sequential keys over the low bits that pick a position', () => {
    // 4096 consecutive keys into 4096 positions: a weak mix would leave most empty or pile
    // them up; a random spread fills about 1 − 1/e of the positions.
    const used = new Set<number>();
    for (let i = 0; i < 4096; i++) used.add(mix32(0x0a000000 + i) & 4095);
    expect(used.size).toBeGreaterThan(4096 * 0.55);
  });

  it('draws seeds as signed 32-bit integers', () => {
    for (let i = 0; i < 100; i++) {
      const seed = randomSeed();
      expect(seed | 0).toBe(seed);
    }
  });
});
