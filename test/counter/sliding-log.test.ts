import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HitCounter, InvalidTimeError, ManualClock, SlidingLog } from '../../src/index.js';
import { drive, ops } from './oracle.js';

describe('SlidingLog', () => {
  it('answers exactly what a full list of timestamps answers', () => {
    fc.assert(
      fc.property(ops(1_500, 5_000), (list) => {
        drive(new SlidingLog({ maxWindowSeconds: 5 }), list, ({ key, now, spanMs, got }, run) => {
          expect(got).toBe(run.oracle.exact(key, now, spanMs));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('holds only the hits of the last maxWindowSeconds, and counts the rest as pruned', () => {
    fc.assert(
      fc.property(ops(1_500, 5_000, 400), (list) => {
        const run = drive(new SlidingLog({ maxWindowSeconds: 5 }), list, () => {});
        const now = run.clock.now();
        const { total_hits, pruned_events, memory_entries } = run.counter.metrics();
        expect(total_hits - pruned_events).toBe(memory_entries);
        // Recent hits are all held; older ones at most until their key's next sweep.
        let recent = 0;
        for (const key of run.oracle.hits.keys()) recent += run.oracle.exact(key, now, 5_000);
        expect(memory_entries).toBeGreaterThanOrEqual(recent);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps memory bounded by rate × maxWindowSeconds under sustained traffic (seed demo 4)', () => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({
      strategy: new SlidingLog({ maxWindowSeconds: 5 }),
      clock: clock.now,
    });
    let peak = 0;
    // 1,000 hits a second for 10 seconds on one key.
    for (let i = 0; i < 10_000; i++) {
      clock.set(i);
      counter.record('/burst');
      peak = Math.max(peak, counter.metrics().memory_entries);
    }
    expect(peak).toBeLessThanOrEqual(5_000);
    expect(counter.query('/burst', 5)).toBe(5_000);
    expect(counter.metrics()).toEqual({
      total_hits: 10_000,
      keys_count: 1,
      pruned_events: 5_000,
      memory_entries: 5_000,
      evicted_keys: 0,
    });
  });

  it('shrinks a key’s ring after a burst and forgets the key once idle', () => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({
      strategy: new SlidingLog({ maxWindowSeconds: 1 }),
      clock: clock.now,
    });
    for (let i = 0; i < 1_000; i++) counter.record('burst', 0);
    clock.set(2_000);
    // Other keys' traffic drives the amortised sweep.
    for (let i = 0; i < 10; i++) counter.record(`other${i % 2}`);
    expect(counter.query('burst', 1)).toBe(0);
    expect(counter.metrics().keys_count).toBe(2);
    expect(counter.metrics().memory_entries).toBe(10);
    expect(counter.metrics().pruned_events).toBe(1_000);
  });

  it('places late hits in order, and drops those already out of reach', () => {
    const clock = new ManualClock(10_000);
    const counter = new HitCounter({
      strategy: new SlidingLog({ maxWindowSeconds: 5 }),
      clock: clock.now,
    });
    for (const at of [9_000, 7_000, 9_500, 6_000, 8_000, 4_000]) counter.record('k', at);
    expect(counter.query('k', 5)).toBe(5);
    expect(counter.query('k', 2.5)).toBe(3);
    expect(counter.query('k', 1)).toBe(1);
    expect(counter.snapshot().keys[0]?.data).toEqual([6_000, 7_000, 8_000, 9_000, 9_500]);
    expect(counter.metrics().pruned_events).toBe(1);
  });

  it('refuses a query longer than maxWindowSeconds instead of undercounting', () => {
    const counter = new HitCounter({ strategy: new SlidingLog({ maxWindowSeconds: 60 }) });
    expect(() => counter.query('k', 61)).toThrow(InvalidTimeError);
    expect(() => counter.query('k', 61)).toThrow(/longer than the 60 s/);
    expect(counter.query('k', 60)).toBe(0);
  });
});
