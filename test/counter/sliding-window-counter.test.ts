import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HitCounter, ManualClock, SlidingWindowCounter } from '../../src/index.js';
import { drive, type Op, ops } from './oracle.js';

/** The documented bound: `max(θ, 1 − θ) × c`, with `c` the hits of the partly covered bucket
 *  and `θ` the weight it gets. */
function bound(
  hitsInFirst: (first: number) => number,
  now: number,
  spanMs: number,
  bucketMs: number,
) {
  const start = now - spanMs;
  const first = Math.floor(start / bucketMs);
  const current = Math.floor(now / bucketMs);
  let weight: number;
  if (first < current) weight = ((first + 1) * bucketMs - start) / bucketMs;
  else weight = now > first * bucketMs ? spanMs / (now - first * bucketMs) : 0;
  return Math.max(weight, 1 - weight) * hitsInFirst(first);
}

describe('SlidingWindowCounter', () => {
  it('stays within its bound on random and bursty traffic', () => {
    fc.assert(
      fc.property(
        ops(1_500, 5_000),
        fc.constantFrom(500, 1_000, 2_500, 5_000),
        (list: Op[], bucketMs) => {
          const strategy = new SlidingWindowCounter({
            windowSeconds: bucketMs / 1000,
            maxWindowSeconds: 5,
          });
          drive(strategy, list, ({ key, now, spanMs, got }, run) => {
            const exact = run.oracle.exact(key, now, spanMs);
            const allowed = bound(
              (first) => run.oracle.inBucket(key, first, bucketMs),
              now,
              spanMs,
              bucketMs,
            );
            expect(got).toBeGreaterThanOrEqual(0);
            expect(Math.abs(got - exact)).toBeLessThanOrEqual(allowed + 1e-9);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is off by at most 2 hits on steady traffic, whatever the rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 999 }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 60_000 })),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (gapMs, phaseMs, queries) => {
          const clock = new ManualClock(0);
          const counter = new HitCounter({
            strategy: new SlidingWindowCounter({ windowSeconds: 60 }),
            clock: clock.now,
          });
          const hits: number[] = [];
          let at = phaseMs;
          const record = (until: number) => {
            for (; at <= until; at += gapMs) {
              clock.set(at);
              counter.record('steady');
              hits.push(at);
            }
          };
          let now = 120_000;
          for (const [advanceMs, spanMs] of queries) {
            now += advanceMs;
            record(now);
            clock.set(now);
            const exact = hits.filter((hit) => hit > now - spanMs).length;
            expect(Math.abs(counter.query('steady', spanMs / 1000) - exact)).toBeLessThanOrEqual(2);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is the classic previous × overlap + current for a query of one window', () => {
    const clock = new ManualClock(119_000);
    const counter = new HitCounter({
      strategy: new SlidingWindowCounter({ windowSeconds: 60 }),
      clock: clock.now,
    });
    for (let i = 0; i < 10; i++) counter.record('k', 60_000 + i * 1000);
    clock.set(120_000);
    for (let i = 0; i < 5; i++) counter.record('k', 120_000 + i);
    clock.set(135_000);
    // 25% into the current window: 75% of the previous one still overlaps.
    expect(counter.query('k', 60)).toBe(10 * 0.75 + 5);
    expect(counter.metrics().memory_entries).toBe(2);
  });
});
