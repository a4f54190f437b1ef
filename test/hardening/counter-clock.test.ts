import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TumblingWindow } from '../../examples/counter/custom-strategy.js';
import {
  type CountingStrategy,
  FixedWindow,
  FutureTimestampError,
  HitCounter,
  type HitCounterEvents,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
} from '../../src/index.js';
import { Oracle, seeded } from '../counter/oracle.js';

/*
 * The counter reads its clock through ClockGuard: a step back of more than a second is the
 * clock being corrected after a wild reading, and is believed. State stamped after the
 * corrected time counts as stamped at it: a key's future hits move to now when the key is next
 * touched (by record, query, the idle sweep or a snapshot), so no hit is lost, none is counted
 * in windows it does not belong to, and no key is kept from going idle until the clock
 * catches up with the wild reading.
 */

const T = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const YEAR = 366 * 86_400_000;

const strategies: [string, () => CountingStrategy][] = [
  ['FixedWindow', () => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 3_600 })],
  ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 3_600 })],
  [
    'SlidingWindowCounter',
    () => new SlidingWindowCounter({ windowSeconds: 60, maxWindowSeconds: 3_600 }),
  ],
  // A first bump always happens, the next ones never with this "random": every bucket
  // holding a hit or two estimates 1, so a minute's one hit reads exactly.
  [
    'Morris',
    () => new Morris({ base: 2, windowSeconds: 1, maxWindowSeconds: 3_600, random: () => 0.99 }),
  ],
];

describe.each(strategies)('%s after one wild reading a year ahead', (_name, make) => {
  function wildThenCorrect(wildRead: (counter: HitCounter) => void) {
    const clock = new ManualClock(T);
    const counter = new HitCounter({ strategy: make(), clock: clock.now });
    counter.record('/login');
    clock.set(T + YEAR);
    wildRead(counter);
    // The clock is corrected; a hit a minute for 50 minutes.
    for (let minute = 1; minute <= 50; minute++) {
      clock.set(T + minute * MINUTE);
      counter.record('/login');
    }
    return { clock, counter };
  }

  it('does not count 50 minutes of hits as the last 60 s (the issue)', () => {
    const { clock, counter } = wildThenCorrect((counter) => counter.query('/login', 60));
    clock.advance(30);
    // 1 (SlidingWindowCounter: 1.5, half of the minute before weighted in).
    expect(counter.query('/login', 60)).toBeGreaterThanOrEqual(1);
    expect(counter.query('/login', 60)).toBeLessThanOrEqual(1.5);
  });

  it('moves a hit stamped at the wild reading to the corrected time, not losing it', () => {
    const { clock, counter } = wildThenCorrect((counter) => counter.record('/login'));
    // The reference: the wild hit recorded at minute 1, when the key was next touched. (The
    // first hit, a year old at the wild reading, aged out then: that reading did see it.)
    const reference = new HitCounter({ strategy: make(), clock: clock.now });
    for (let minute = 1; minute <= 50; minute++) {
      clock.set(T + minute * MINUTE);
      if (minute === 1) reference.record('/login');
      reference.record('/login');
    }
    clock.advance(30);
    for (const seconds of [1, 60, 600, 49 * 60 + 31, 50 * 60]) {
      expect(counter.query('/login', seconds)).toBe(reference.query('/login', seconds));
    }
    expect(counter.query('/login', 50 * 60)).toBeGreaterThanOrEqual(50);
    expect(counter.metrics().pruned_events).toBe(1);
  });

  it('refuses a hit stamped at the wild time once the clock is corrected', () => {
    const { counter } = wildThenCorrect((counter) => counter.query('/login', 1));
    expect(() => counter.record('/login', T + YEAR)).toThrow(FutureTimestampError);
    expect(() => counter.record('/login', T + 50 * MINUTE + 5_000)).toThrow(/5\.000 s ahead/);
  });

  it('forgets keys touched at the wild reading once they are idle at the corrected time', () => {
    const clock = new ManualClock(T);
    const counter = new HitCounter({ strategy: make(), clock: clock.now });
    clock.set(T + YEAR);
    for (let i = 0; i < 100; i++) counter.record(`wild${i}`);
    clock.set(T);
    const retention = counter.strategy.retentionSeconds;
    clock.set(T + (retention + 1) * 1000);
    for (let i = 0; i < 60; i++) counter.record('live');
    // Each wild key moved to "now" when the sweep passed it, then aged out.
    clock.set(T + (2 * retention + 2) * 1000);
    for (let i = 0; i < 120; i++) counter.record('live');
    expect(counter.metrics().keys_count).toBe(1);
  });
});

type Op =
  | { op: 'record'; key: string; advanceMs: number; lateMs: number }
  | { op: 'query'; key: string; advanceMs: number; spanMs: number }
  | { op: 'correct'; backMs: number };

const KEYS = ['a', 'b', 'c', '__proto__'];
/** Every time in these runs stays within one window of the start, so no strategy prunes or
 *  forgets anything and the oracle needs to know nothing but the moved stamps. */
const REACH_MS = 60_000;

function opsWithCorrections(): fc.Arbitrary<Op[]> {
  const key = fc.constantFrom(...KEYS);
  const advanceMs = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3_000 }));
  return fc.array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          op: fc.constant('record' as const),
          key,
          advanceMs,
          lateMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4_000 })),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant('query' as const),
          key,
          advanceMs,
          spanMs: fc.integer({ min: 0, max: REACH_MS / 1000 }).map((s) => s * 1000),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('correct' as const),
          backMs: fc.integer({ min: 1_001, max: 20_000 }),
        }),
      },
    ),
    { maxLength: 150 },
  );
}

/** Plays `list`; after each correction queries every key at the corrected time (so each key
 *  settles then) and moves the oracle's later stamps to it. */
function play(
  strategy: CountingStrategy,
  list: Op[],
  check: (got: number, oracle: Oracle, key: string, now: number, spanMs: number) => void,
): void {
  const start = T + 5_000;
  const end = T + REACH_MS - 5_000;
  const clock = new ManualClock(start);
  const counter = new HitCounter({ strategy, clock: clock.now });
  const oracle = new Oracle();
  let now = start;
  for (const step of list) {
    if (step.op === 'correct') {
      // A step back of a second or less is held by the guard, not a correction.
      if (now - step.backMs < start) continue;
      now -= step.backMs;
      clock.set(now);
      for (const key of KEYS) counter.query(key, 0);
      for (const hits of oracle.hits.values()) {
        for (let i = 0; i < hits.length; i++) if (hits[i]! > now) hits[i] = now;
      }
      continue;
    }
    now = Math.min(end, now + step.advanceMs);
    clock.set(now);
    if (step.op === 'record') {
      counter.record(step.key, now - step.lateMs);
      oracle.record(step.key, now - step.lateMs);
    } else {
      check(counter.query(step.key, step.spanMs / 1000), oracle, step.key, now, step.spanMs);
    }
  }
}

describe('after corrections back, every answer is the one for hits moved to the corrected time', () => {
  it('SlidingLog: exactly', () => {
    fc.assert(
      fc.property(opsWithCorrections(), (list) => {
        play(new SlidingLog({ maxWindowSeconds: 60 }), list, (got, oracle, key, now, spanMs) => {
          expect(got).toBe(oracle.exact(key, now, spanMs));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('FixedWindow: by the bucket rule', () => {
    fc.assert(
      fc.property(opsWithCorrections(), fc.constantFrom(1_000, 2_500), (list, bucketMs) => {
        const strategy = new FixedWindow({ windowSeconds: bucketMs / 1000, maxWindowSeconds: 60 });
        play(strategy, list, (got, oracle, key, now, spanMs) => {
          expect(got).toBe(oracle.buckets(key, now, spanMs, bucketMs));
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('state stamped in the future elsewhere', () => {
  function afterCorrection(strategy: CountingStrategy) {
    const clock = new ManualClock(T);
    const counter = new HitCounter({ strategy, clock: clock.now });
    clock.set(T + YEAR);
    for (let i = 0; i < 5; i++) counter.record('k');
    counter.record('other');
    clock.set(T + MINUTE);
    return { clock, counter };
  }

  it('a snapshot after a correction holds nothing later than its takenAt', () => {
    const { counter } = afterCorrection(new SlidingLog({ maxWindowSeconds: 60 }));
    const snapshot = counter.snapshot();
    expect(snapshot.takenAt).toBe(T + MINUTE);
    for (const entry of snapshot.keys) {
      expect(entry.lastAt).toBeLessThanOrEqual(snapshot.takenAt);
      for (const at of entry.data) expect(at).toBeLessThanOrEqual(snapshot.takenAt);
    }
    expect(counter.query('k', 1)).toBe(5);
  });

  it('a log swapped to buckets after a correction replays its future hits at now', () => {
    const { clock, counter } = afterCorrection(new SlidingLog({ maxWindowSeconds: 60 }));
    counter.swapStrategy(new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 60 }));
    expect(counter.query('k', 1)).toBe(5);
    expect(counter.query('other', 60)).toBe(1);
    expect(counter.metrics().pruned_events).toBe(0);
    clock.advance(2);
    expect(counter.query('k', 1)).toBe(0);
    expect(counter.query('k', 3)).toBe(5);
  });

  it('a restored snapshot taken on a clock ahead of this one settles key by key', () => {
    const ahead = afterCorrection(new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 60 }));
    const clock = new ManualClock(T + YEAR);
    const source = new HitCounter({
      strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 60 }),
      clock: clock.now,
    });
    for (let i = 0; i < 3; i++) source.record('k');
    const copy = ahead.counter;
    copy.restore(source.snapshot());
    expect(copy.query('k', 1)).toBe(3);
    ahead.clock.advance(2);
    expect(copy.query('k', 1)).toBe(0);
    expect(copy.query('k', 3)).toBe(3);
  });

  it('Morris folds future buckets into one estimate without bias', () => {
    const random = seeded(7);
    const clock = new ManualClock(T);
    const counter = new HitCounter({
      strategy: new Morris({ base: 2, windowSeconds: 1, maxWindowSeconds: 60, random }),
      clock: clock.now,
    });
    const keys = 2_000;
    // 30 hits over 30 future buckets for each key, then a correction folds them into one.
    for (let second = 0; second < 30; second++) {
      clock.set(T + YEAR + second * 1000);
      for (let k = 0; k < keys; k++) counter.record(`k${k}`);
    }
    clock.set(T);
    let sum = 0;
    for (let k = 0; k < keys; k++) sum += counter.query(`k${k}`, 1);
    // Each bucket holds 1 exactly (a first bump always happens); the fold is unbiased, with a
    // standard deviation of about √(n²/2) / √keys ≈ 0.5 on the mean of 30.
    expect(sum / keys).toBeGreaterThan(28);
    expect(sum / keys).toBeLessThan(32);
  });

  it('a user strategy without clampTo drops future hits and says why', () => {
    const clock = new ManualClock(T + YEAR);
    const counter = new HitCounter({ strategy: new TumblingWindow(60), clock: clock.now });
    const pruned: HitCounterEvents['pruned'][] = [];
    counter.on('pruned', (event) => pruned.push(event));
    counter.record('k');
    counter.record('k');
    clock.set(T);
    counter.record('k');
    expect(counter.query('k', 60)).toBe(1);
    expect(pruned).toEqual([{ key: 'k', removed: 2, reason: 'clock' }]);
  });
});
