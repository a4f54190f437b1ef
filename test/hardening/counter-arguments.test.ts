import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  type CountingStrategy,
  decodeSnapshot,
  encodeSnapshot,
  FixedWindow,
  FutureTimestampError,
  HitCounter,
  type HitCounterSnapshot,
  HitwardenError,
  InvalidTimeError,
  MAX_MESSAGE_LENGTH,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
  SnapshotError,
} from '../../src/index.js';
import { hostile, thrown } from './counter-hostile.js';

/*
 * Every public method of HitCounter, fed generated hostile arguments, either works — and then
 * only for arguments its contract accepts — or throws a HitwardenError with a bounded message,
 * never a raw TypeError or RangeError, and a refused call changes nothing (metrics and
 * snapshot compared before and after).
 */

const NOW = 1_000_000;
const strategies: [string, () => CountingStrategy][] = [
  ['FixedWindow', () => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 60 })],
  ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 60 })],
  ['SlidingWindowCounter', () => new SlidingWindowCounter({ windowSeconds: 10 })],
  ['Morris', () => new Morris({ base: 2, windowSeconds: 1, random: () => 0.25 })],
];

function filled(make: () => CountingStrategy) {
  const clock = new ManualClock(NOW);
  const counter = new HitCounter({ strategy: make(), clock: clock.now });
  for (let i = 0; i < 20; i++) counter.record(`k${i % 3}`, NOW - i * 500);
  // The clock has been read: the state in which `null <= now` used to let `at = null` in.
  counter.query('k0', 1);
  return { clock, counter };
}

function state(counter: HitCounter): unknown {
  return { ...counter.snapshot(), takenAt: 0, metrics: counter.metrics() };
}

/** Runs `call` on the counter; checks the error is a typed one and nothing changed. */
function refusedOrDone(counter: HitCounter, call: () => unknown): unknown {
  const before = state(counter);
  const error = thrown(call);
  if (error !== undefined) {
    expect(error).toBeInstanceOf(HitwardenError);
    expect((error as Error).message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(state(counter)).toEqual(before);
  }
  return error;
}

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

describe.each(strategies)('%s: hostile arguments', (_name, make) => {
  it('record(key, at): typed errors, nothing changed, and only valid arguments recorded', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostile, fc.constant('k0')),
        fc.oneof(hostile, fc.constant(undefined), fc.constant(NOW - 10)),
        (key, at) => {
          const { counter } = filled(make);
          const error = refusedOrDone(counter, () => counter.record(key as string, at as number));
          const valid =
            typeof key === 'string' &&
            (at === undefined || (isFiniteNumber(at) && at <= NOW + 1_000));
          expect(error === undefined).toBe(valid);
          if (typeof key === 'string' && !valid) expect(error).toBeInstanceOf(InvalidTimeError);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('query(key, lastSeconds): typed errors, and answers only for valid spans', () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.constant('k1')), hostile, (key, lastSeconds) => {
        const { counter } = filled(make);
        const max = counter.strategy.maxWindowSeconds;
        let answer: unknown;
        const error = refusedOrDone(counter, () => {
          answer = counter.query(key as string, lastSeconds as number);
        });
        const valid =
          typeof key === 'string' &&
          isFiniteNumber(lastSeconds) &&
          lastSeconds >= 0 &&
          lastSeconds <= max;
        expect(error === undefined).toBe(valid);
        if (valid) expect(typeof answer).toBe('number');
      }),
      { numRuns: 400 },
    );
  });

  it('on/off, swapStrategy, restore, encode/decode: typed errors only', () => {
    fc.assert(
      fc.property(hostile, hostile, (first, second) => {
        const { counter } = filled(make);
        for (const call of [
          () => counter.on(first as 'pruned', second as () => void),
          () => counter.off(first as 'pruned', second as () => void),
          () => counter.swapStrategy(first as CountingStrategy),
          () => counter.restore(first as HitCounterSnapshot),
          () => encodeSnapshot(first as HitCounterSnapshot),
          () => decodeSnapshot(first as string),
        ]) {
          refusedOrDone(counter, call);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the issue’s reproductions and their neighbours', () => {
  it('refuses at = null, numeric strings and objects once the clock has been read', () => {
    const { counter } = filled(() => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 60 }));
    for (const at of [
      null,
      '1000',
      String(NOW),
      {},
      [NOW],
      new Date(NOW),
      { valueOf: () => NOW },
    ]) {
      expect(() => counter.record('k0', at as number)).toThrow(InvalidTimeError);
    }
    expect(() => counter.record('k0', NOW + 5_000)).toThrow(FutureTimestampError);
    expect(counter.metrics().total_hits).toBe(20);
  });

  it('refuses symbols and BigInts for every argument with a typed error', () => {
    const { counter } = filled(() => new SlidingLog({ maxWindowSeconds: 60 }));
    for (const bad of [Symbol('s'), 10n]) {
      expect(() => counter.record(bad as never)).toThrow(
        /key must be a string, got a (symbol|BigInt)/,
      );
      expect(() => counter.record('k', bad as never)).toThrow(InvalidTimeError);
      expect(() => counter.query('k', bad as never)).toThrow(InvalidTimeError);
      expect(() => counter.query(bad as never, 5)).toThrow(HitwardenError);
    }
    const throwing = {
      toString: () => {
        throw new Error('called');
      },
    };
    expect(() => counter.record(throwing as never)).toThrow(/got an object/);
    expect(() => counter.query('k', '5' as never)).toThrow('lastSeconds = "5"');
  });

  it('refuses strategies that would fail later, naming what is wrong', () => {
    const counter = new HitCounter();
    const base = {
      kind: 'user',
      params: { a: 1 },
      maxWindowSeconds: 10,
      retentionSeconds: 10,
      create: () => new FixedWindow({ windowSeconds: 1 }).create(),
    };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ params: null }, /swapStrategy\(strategy\)\.params: must be an object/],
      [{ params: { a: Symbol('x') } }, /params\.a: must be a finite number/],
      [{ params: { a: 10n } }, /params\.a/],
      [{ maxWindowSeconds: Number.POSITIVE_INFINITY }, /maxWindowSeconds/],
      [{ retentionSeconds: 5 }, /retentionSeconds: must be .*≥ 10/],
      [{ create: () => null }, /create\(\): must return a StrategyState/],
      [{ create: () => ({ record() {} }) }, /without a resize\(\) method/],
      [{ kind: 5 }, /must be a CountingStrategy/],
    ];
    for (const [change, message] of cases) {
      const error = thrown(() => counter.swapStrategy({ ...base, ...change } as never));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
    }
    expect(counter.strategy.kind).toBe('fixed-window');
  });

  it('refuses a Morris random that returns something other than a number in [0, 1)', () => {
    for (const value of [Symbol('r'), 1, -0.5, Number.NaN, '0.5']) {
      const counter = new HitCounter({ strategy: new Morris({ random: () => value as number }) });
      expect(() => counter.record('k')).toThrow(/Morris\.random: must return numbers in \[0, 1\)/);
    }
  });

  it('leaves extra fields out of an encoded snapshot instead of failing on them', () => {
    const { counter } = filled(() => new SlidingLog({ maxWindowSeconds: 60 }));
    const snapshot = { ...counter.snapshot(), extra: 10n, keys: counter.snapshot().keys };
    const text = encodeSnapshot(snapshot as HitCounterSnapshot);
    expect(JSON.parse(text).extra).toBeUndefined();
    expect(() => decodeSnapshot(5 as never)).toThrow(SnapshotError);
  });
});
