import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FixedWindow, HitCounter, ManualClock } from '../../src/index.js';
import { drive, ops } from './oracle.js';

describe('FixedWindow', () => {
  it('sums the buckets from the one holding now − span through the newest', () => {
    fc.assert(
      fc.property(ops(600, 5_000), (list) => {
        const strategy = new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 });
        drive(strategy, list, ({ key, now, spanMs, got }, run) => {
          expect(got).toBe(run.oracle.buckets(key, now, spanMs, 1_000));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never undercounts, and overcounts by less than one bucket of hits', () => {
    fc.assert(
      fc.property(ops(700, 3_000), fc.integer({ min: 1, max: 3_000 }), (list, windowMs) => {
        const strategy = new FixedWindow({ windowSeconds: windowMs / 1000, maxWindowSeconds: 3 });
        drive(strategy, list, ({ key, now, spanMs, got }, run) => {
          const exact = run.oracle.exact(key, now, spanMs);
          const first = Math.floor((now - spanMs) / strategy.params.windowSeconds / 1000);
          expect(got).toBeGreaterThanOrEqual(exact);
          expect(got - exact).toBeLessThanOrEqual(
            run.oracle.inBucket(key, first, strategy.params.windowSeconds * 1000),
          );
        });
      }),
      { numRuns: 200 },
    );
  });

  it('reproduces seed demo 1: hits at 0, 5, 8, 15, 18 s in 10 s buckets', () => {
    const clock = new ManualClock(20_000);
    const counter = new HitCounter({ clock: clock.now });
    for (const second of [0, 5, 8, 15, 18]) counter.record('/api', second * 1000);
    // (10 s, 20 s] starts on a bucket boundary: exactly the hits of [10, 20).
    expect(counter.query('/api', 10)).toBe(2);
    clock.set(19_000);
    // Clamped: the clock went back, the counter still lives at 20 s.
    expect(counter.query('/api', 10)).toBe(2);
    expect(counter.query('/api', 11)).toBe(5);
    expect(counter.metrics()).toEqual({
      total_hits: 5,
      keys_count: 1,
      pruned_events: 0,
      memory_entries: 61,
      evicted_keys: 0,
    });
  });

  it('drops buckets that roll out of reach and counts their hits as pruned', () => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({
      strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 2 }),
      clock: clock.now,
    });
    for (let i = 0; i < 30; i++) counter.record('k', 0);
    clock.set(3_000);
    counter.record('k');
    expect(counter.metrics().pruned_events).toBe(30);
    expect(counter.query('k', 2)).toBe(1);
    counter.record('k', 500);
    expect(counter.metrics().pruned_events).toBe(31);
  });

  it('validates its options with the path of the bad one', () => {
    expect(() => new FixedWindow({ windowSeconds: 0 })).toThrow(ConfigError);
    expect(() => new FixedWindow({ windowSeconds: Number.NaN })).toThrow(
      /FixedWindow\.windowSeconds/,
    );
    expect(() => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: -1 })).toThrow(
      /FixedWindow\.maxWindowSeconds/,
    );
    expect(() => new FixedWindow({ windowSeconds: 0.001, maxWindowSeconds: 86_400 })).toThrow(
      /buckets/,
    );
  });
});
