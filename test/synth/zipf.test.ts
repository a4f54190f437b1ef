import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { Sfc32 } from '../../src/synth/prng.js';
import { ZipfSampler, zipfProbabilities } from '../../src/synth/zipf.js';

/** Pearson's chi-square of `draws` samples against the exact law. */
function chiSquare(n: number, exponent: number, seed: number, draws: number): number {
  const sampler = new ZipfSampler(n, exponent, new Sfc32(seed));
  const counts = new Float64Array(n);
  let outOfRange = 0;
  for (let i = 0; i < draws; i++) {
    const k = sampler.sample();
    if (!Number.isInteger(k) || k < 1 || k > n) outOfRange++;
    else counts[k - 1]!++;
  }
  expect(outOfRange).toBe(0);
  const p = zipfProbabilities(n, exponent);
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    const expected = p[i]! * draws;
    chi2 += (counts[i]! - expected) ** 2 / expected;
  }
  return chi2;
}

describe('ZipfSampler', () => {
  // 0.1% critical values of chi-square: 9 degrees of freedom 27.88, 49 degrees 85.35.
  it.each([
    [1, 10, 27.88],
    [1, 50, 85.35],
    [0.5, 10, 27.88],
    [0.999_999_999, 10, 27.88], // the s → 1 limit of the closed forms
    [1.2, 50, 85.35],
    [2, 10, 27.88],
    [3.5, 10, 27.88],
  ])('follows Zipf(%s) over %s ranks', (exponent, n, critical) => {
    expect(chiSquare(n, exponent, 2024, 200_000)).toBeLessThan(critical);
  });

  it('matches the head of the law on a large range without a table', () => {
    const n = 20_000_000;
    const sampler = new ZipfSampler(n, 1, new Sfc32(5));
    const draws = 200_000;
    let ones = 0;
    let twos = 0;
    let max = 0;
    for (let i = 0; i < draws; i++) {
      const k = sampler.sample();
      if (k === 1) ones++;
      else if (k === 2) twos++;
      if (k > max) max = k;
    }
    // H_n for n = 2·10^7 is ln n + γ + 1/(2n) ≈ 17.388.
    const harmonic = Math.log(n) + 0.577_215_664_9;
    const p1 = 1 / harmonic;
    const sigma = Math.sqrt(draws * p1 * (1 - p1));
    expect(Math.abs(ones - draws * p1)).toBeLessThan(5 * sigma);
    expect(Math.abs(twos - (draws * p1) / 2)).toBeLessThan(5 * sigma);
    expect(max).toBeLessThanOrEqual(n);
    expect(max).toBeGreaterThan(n / 100); // the tail is reached
  });

  it('is deterministic by seed', () => {
    const draw = (seed: number) => {
      const sampler = new ZipfSampler(1000, 1, new Sfc32(seed));
      return Array.from({ length: 50 }, () => sampler.sample());
    };
    expect(draw(8)).toEqual(draw(8));
    expect(draw(8)).not.toEqual(draw(9));
  });

  it('has one rank to give when n is 1', () => {
    const sampler = new ZipfSampler(1, 1, new Sfc32(1));
    for (let i = 0; i < 100; i++) expect(sampler.sample()).toBe(1);
  });

  it('rejects a bad range or exponent with a ConfigError naming it', () => {
    const rng = new Sfc32(1);
    expect(() => new ZipfSampler(0, 1, rng)).toThrow(ConfigError);
    expect(() => new ZipfSampler(2.5, 1, rng)).toThrow(/zipf\.n/);
    expect(() => new ZipfSampler(10, 0, rng)).toThrow(/zipf\.exponent/);
    expect(() => new ZipfSampler(10, Number.NaN, rng)).toThrow(ConfigError);
  });
});

describe('zipfProbabilities', () => {
  it('sums to one and falls as k^-s', () => {
    const p = zipfProbabilities(100, 1);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[0]! / p[9]!).toBeCloseTo(10, 9);
  });
});
