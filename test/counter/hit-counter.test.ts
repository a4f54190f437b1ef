import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  FixedWindow,
  FutureTimestampError,
  HitCounter,
  type HitCounterEvents,
  InvalidTimeError,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
} from '../../src/index.js';
import { drive, ops } from './oracle.js';

function counterAt(start: number, options: ConstructorParameters<typeof HitCounter>[0] = {}) {
  const clock = new ManualClock(start);
  return { clock, counter: new HitCounter({ ...options, clock: clock.now }) };
}

describe('HitCounter time rules', () => {
  it('stamps a hit with the clock when no time is given', () => {
    const { clock, counter } = counterAt(50_000, {
      strategy: new SlidingLog({ maxWindowSeconds: 60 }),
    });
    counter.record('k');
    clock.advance(30);
    counter.record('k');
    expect(counter.snapshot().keys[0]?.data).toEqual([50_000, 80_000]);
  });

  it('refuses a hit beyond the future tolerance and leaves everything untouched', () => {
    const { counter } = counterAt(10_000, { futureToleranceSeconds: 2 });
    counter.record('k', 10_000);
    const before = counter.snapshot();
    expect(() => counter.record('k', 12_001)).toThrow(FutureTimestampError);
    expect(() => counter.record('new', 12_001)).toThrow(/2\.001 s ahead of the clock/);
    const after = counter.snapshot();
    expect({ ...after, takenAt: 0 }).toEqual({ ...before, takenAt: 0 });
  });

  it('counts a hit within the tolerance as happening now', () => {
    const { clock, counter } = counterAt(10_000, {
      strategy: new SlidingLog({ maxWindowSeconds: 10 }),
    });
    const seen: number[] = [];
    counter.on('hit_recorded', ({ at }) => seen.push(at));
    counter.record('k', 10_900);
    expect(seen).toEqual([10_000]);
    clock.advance(10);
    expect(counter.query('k', 10)).toBe(0);
  });

  it('rejects timestamps that are not finite numbers', () => {
    const { counter } = counterAt(0);
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => counter.record('k', at)).toThrow(InvalidTimeError);
    }
    expect(counter.metrics().total_hits).toBe(0);
  });

  it('holds a clock that steps back a little at the latest time it showed', () => {
    const { clock, counter } = counterAt(100_000, {
      strategy: new SlidingLog({ maxWindowSeconds: 60 }),
    });
    counter.record('k');
    clock.set(130_000);
    expect(counter.query('k', 30)).toBe(0);
    clock.set(129_200);
    // Still 130 s: the hit at 100 s stays out of a 30 s window instead of coming back.
    expect(counter.query('k', 30)).toBe(0);
    counter.record('k');
    expect(counter.snapshot().keys[0]?.data).toEqual([100_000, 130_000]);
  });

  it('rejects NaN, negative and too long spans', () => {
    const { counter } = counterAt(0);
    expect(() => counter.query('k', Number.NaN)).toThrow(InvalidTimeError);
    expect(() => counter.query('k', -1)).toThrow(/must be a number of seconds ≥ 0/);
    expect(() => counter.query('k', 601)).toThrow(/longer than the 600 s/);
    expect(counter.query('k', 0)).toBe(0);
  });

  it('rejects keys that are not strings and options that break a rule', () => {
    const { counter } = counterAt(0);
    expect(() => counter.record(42 as unknown as string)).toThrow(/key must be a string/);
    expect(() => new HitCounter({ futureToleranceSeconds: -1 })).toThrow(ConfigError);
    expect(() => new HitCounter({ expectedKeys: 1.5 })).toThrow(/expectedKeys/);
    expect(() => new HitCounter({ strategy: {} as FixedWindow })).toThrow(/CountingStrategy/);
  });
});

describe('HitCounter keys and metrics', () => {
  it('keeps instances apart (no singleton)', () => {
    const one = counterAt(0).counter;
    const two = counterAt(0).counter;
    one.record('k');
    expect(two.query('k', 10)).toBe(0);
    expect(one.query('k', 10)).toBe(1);
  });

  it('treats any string as a key, __proto__ included', () => {
    const { counter } = counterAt(0);
    for (const key of ['__proto__', 'constructor', '', 'é/😀']) counter.record(key);
    for (const key of ['__proto__', 'constructor', '', 'é/😀']) {
      expect(counter.query(key, 10)).toBe(1);
    }
    expect(counter.metrics().keys_count).toBe(4);
  });

  it('forgets keys that went idle, a few per call, and reuses their slots', () => {
    const { clock, counter } = counterAt(0, {
      strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 10 }),
    });
    for (let i = 0; i < 1_000; i++) counter.record(`old${i}`);
    expect(counter.metrics().keys_count).toBe(1_000);
    clock.set(11_001);
    // Each call looks at two slots: one call drops at most two keys.
    counter.record('fresh');
    expect(counter.metrics().keys_count).toBeGreaterThanOrEqual(999);
    for (let i = 0; i < 600; i++) counter.record('fresh');
    expect(counter.metrics()).toEqual({
      total_hits: 1_601,
      keys_count: 1,
      pruned_events: 1_000,
      memory_entries: 11,
      evicted_keys: 0,
    });
    expect(counter.query('old7', 10)).toBe(0);
    for (let i = 0; i < 1_000; i++) counter.record(`new${i}`);
    expect(counter.snapshot().keys.length).toBe(1_001);
  });

  it('keeps a key that is still within reach', () => {
    const { clock, counter } = counterAt(0, {
      strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 10 }),
    });
    counter.record('k');
    clock.set(10_500);
    for (let i = 0; i < 10; i++) counter.record('other');
    expect(counter.query('k', 10)).toBe(1);
  });

  it('presizes from expectedKeys', () => {
    const { counter } = counterAt(0, { expectedKeys: 10_000 });
    for (let i = 0; i < 10_000; i++) counter.record(`k${i}`);
    expect(counter.metrics().keys_count).toBe(10_000);
  });
});

describe('HitCounter events', () => {
  it('emits hit_recorded only to current listeners', () => {
    const { counter } = counterAt(5_000);
    const listener = vi.fn();
    counter.record('before');
    counter.on('hit_recorded', listener);
    counter.record('k', 4_000);
    counter.off('hit_recorded', listener);
    counter.record('after');
    expect(listener.mock.calls).toEqual([[{ key: 'k', at: 4_000 }]]);
  });

  it('reports pruning with the key, the count and the reason', () => {
    const { clock, counter } = counterAt(0, {
      strategy: new SlidingLog({ maxWindowSeconds: 1 }),
    });
    const pruned: HitCounterEvents['pruned'][] = [];
    counter.on('pruned', (event) => pruned.push(event));
    counter.record('a');
    counter.record('a');
    clock.set(1_000);
    counter.record('a');
    clock.set(5_000);
    counter.record('b');
    counter.record('b');
    expect(pruned).toEqual([
      { key: 'a', removed: 2, reason: 'expired' },
      { key: 'a', removed: 1, reason: 'idle' },
    ]);
    expect(counter.metrics().pruned_events).toBe(3);
  });

  it('refuses unknown events and non-function listeners', () => {
    const { counter } = counterAt(0);
    expect(() => counter.on('hit' as 'pruned', () => {})).toThrow(/is not one of hit_recorded/);
    expect(() => counter.on('pruned', 'x' as unknown as () => void)).toThrow(ConfigError);
  });
});

describe('HitCounter swapStrategy', () => {
  it('keeps state for an equal strategy and says so', () => {
    const { counter } = counterAt(0);
    const events: unknown[] = [];
    counter.on('strategy_swapped', (event) => events.push(event));
    counter.on('strategy_reset', (event) => events.push(event));
    counter.record('k');
    counter.swapStrategy(new FixedWindow({ windowSeconds: 10 }));
    expect(counter.query('k', 10)).toBe(1);
    expect(events).toEqual([
      { from: 'fixed-window', to: 'fixed-window', stateKept: true, converted: false },
    ]);
  });

  it('resets state it cannot convert, says how much went, and keeps the lifetime metrics', () => {
    const { counter } = counterAt(0);
    const events: unknown[] = [];
    counter.on('strategy_reset', (event) => events.push(['reset', event]));
    counter.on('strategy_swapped', (event) => events.push(['swapped', event]));
    for (let i = 0; i < 1_000; i++) counter.record(i % 2 ? 'a' : 'b');
    counter.swapStrategy(new Morris({ base: 2 }));
    expect(counter.query('a', 60)).toBe(0);
    expect(counter.metrics()).toEqual({
      total_hits: 1_000,
      keys_count: 0,
      pruned_events: 0,
      memory_entries: 0,
      evicted_keys: 0,
    });
    expect(events).toEqual([
      [
        'reset',
        {
          from: 'fixed-window',
          to: 'morris',
          reason: expect.stringMatching(/morris .* cannot read the state of fixed-window/),
          keysDropped: 2,
          entriesDropped: 122,
        },
      ],
      ['swapped', { from: 'fixed-window', to: 'morris', stateKept: false, converted: false }],
    ]);
    counter.record('a');
    expect(counter.query('a', 60)).toBe(1);
    expect(counter.strategy.kind).toBe('morris');
  });

  it('converts a log by replaying its hits, exactly as the new strategy would have kept them', () => {
    fc.assert(
      fc.property(ops(1_500, 5_000, 200), fc.integer({ min: 0, max: 3 }), (list, pick) => {
        const run = drive(new SlidingLog({ maxWindowSeconds: 5 }), list, () => {});
        const events: unknown[] = [];
        run.counter.on('strategy_reset', (event) => events.push(event));
        run.counter.on('strategy_swapped', (event) => events.push(event));
        const targets = [
          new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 }),
          new SlidingWindowCounter({ windowSeconds: 0.5, maxWindowSeconds: 5 }),
          new Morris({ base: 2, windowSeconds: 1, maxWindowSeconds: 5, random: () => 0.5 }),
          new SlidingLog({ maxWindowSeconds: 10 }),
        ];
        const target = targets[pick]!;
        // The reference: a counter of the target strategy fed the hits the log still held.
        const reference = new HitCounter({ strategy: target, clock: run.clock.now });
        for (const { key, data } of run.counter.snapshot().keys) {
          for (const at of data) reference.record(key, at);
        }
        run.counter.swapStrategy(target);
        expect(events).toEqual([
          { from: 'sliding-log', to: target.kind, stateKept: false, converted: true },
        ]);
        for (const key of ['a', 'b', 'c', '__proto__']) {
          for (const seconds of [0, 0.5, 1, 2.5, 5]) {
            expect(run.counter.query(key, seconds)).toBe(reference.query(key, seconds));
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('treats other params of the same kind as incompatible', () => {
    const { counter } = counterAt(0);
    counter.record('k');
    counter.swapStrategy(new FixedWindow({ windowSeconds: 5 }));
    expect(counter.query('k', 10)).toBe(0);
    expect(() => counter.query('k', 301)).toThrow(InvalidTimeError);
  });
});
