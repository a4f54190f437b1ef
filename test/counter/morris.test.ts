import { describe, expect, it } from 'vitest';
import { ConfigError, HitCounter, ManualClock, Morris } from '../../src/index.js';
import { seeded } from './oracle.js';

/** Mean and variance of the estimates after `hits` hits, over `trials` independent keys. */
function trial(base: number, hits: number, trials: number, seed: number) {
  const clock = new ManualClock(0);
  const counter = new HitCounter({
    strategy: new Morris({ base, random: seeded(seed) }),
    clock: clock.now,
  });
  const keys = Array.from({ length: trials }, (_, i) => `k${i}`);
  for (let hit = 0; hit < hits; hit++) for (const key of keys) counter.record(key);
  const estimates = keys.map((key) => counter.query(key, 60));
  const mean = estimates.reduce((sum, value) => sum + value, 0) / trials;
  const variance = estimates.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (trials - 1);
  return { mean, variance, memory: counter.metrics().memory_entries };
}

describe('Morris', () => {
  for (const base of [2, 1.1]) {
    it(`is unbiased with variance (a − 1)·n(n − 1)/2 for base ${base}`, () => {
      const hits = 500;
      const trials = 2_000;
      const { mean, variance } = trial(base, hits, trials, 0x5eed + base * 10);
      const expectedVariance = ((base - 1) * hits * (hits - 1)) / 2;
      // Four standard errors of the mean: a wrong estimator misses by far more.
      expect(Math.abs(mean - hits)).toBeLessThan(4 * Math.sqrt(expectedVariance / trials));
      // The sample variance of 2,000 heavy-tailed estimates wanders ±15% (one sd, measured
      // over many seeds for base 2); a wrong base or estimator is off by a factor.
      expect(variance / expectedVariance).toBeGreaterThan(0.6);
      expect(variance / expectedVariance).toBeLessThan(1.5);
    });
  }

  it('forgets hits older than its reach, like FixedWindow', () => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({
      strategy: new Morris({ windowSeconds: 1, maxWindowSeconds: 5 }),
      clock: clock.now,
    });
    counter.record('k');
    expect(counter.query('k', 5)).toBe(1);
    clock.set(6_000);
    expect(counter.query('k', 5)).toBe(0);
    counter.record('k');
    expect(counter.query('k', 5)).toBe(1);
    expect(counter.metrics().pruned_events).toBe(1);
  });

  it('saturates instead of overflowing', () => {
    const counter = new HitCounter({ strategy: new Morris({ random: () => 0 }) });
    for (let i = 0; i < 1_000; i++) counter.record('k');
    expect(counter.query('k', 60)).toBe(2 ** 54 - 1);
  });

  it('rejects a base that is not above 1, or too close to count far', () => {
    expect(() => new Morris({ base: 1 })).toThrow(ConfigError);
    expect(() => new Morris({ base: Number.NaN })).toThrow(/Morris\.base/);
    expect(() => new Morris({ base: 1.0001 })).toThrow(/too close to 1/);
    expect(() => new Morris({ base: 1.01 })).not.toThrow();
  });
});
