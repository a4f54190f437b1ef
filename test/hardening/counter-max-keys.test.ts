import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CapacityError,
  ConfigError,
  type CountingStrategy,
  FixedWindow,
  HitCounter,
  type HitCounterEvents,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
  type StrategyState,
} from '../../src/index.js';
import { thrown } from './counter-hostile.js';

/*
 * The counter holds at most `maxKeys` keys. Keys are kept in order of their last record; each
 * call forgets up to two idle keys from the least recent end (stopping at the first that is not
 * idle), and a new key at the cap takes the place of the least recent key: as `idle` if it is,
 * else `evicted` (or, with whenFull: 'refuse', a CapacityError that changes nothing). A hit no
 * query can reach any more touches no key. The oracle below is that rule written with an array.
 */

interface Entry {
  key: string;
  lastAt: number;
  hits: number;
}

class KeysOracle {
  readonly order: Entry[] = [];
  /** Keys evicted, with the hits recorded to them (the most they can have held). */
  evicted: { key: string; recorded: number }[] = [];

  constructor(
    readonly maxKeys: number,
    readonly retentionMs: number,
    readonly refuse: boolean,
  ) {}

  /** Returns false when the record is refused. */
  record(key: string, at: number, now: number): boolean {
    const idleBefore = now - this.retentionMs;
    if (at <= idleBefore) {
      this.sweep(now);
      return true;
    }
    const index = this.order.findIndex((entry) => entry.key === key);
    let entry: Entry;
    if (index >= 0) {
      entry = this.order.splice(index, 1)[0]!;
    } else {
      if (this.order.length >= this.maxKeys) {
        const oldest = this.order[0]!;
        if (oldest.lastAt > idleBefore) {
          if (this.refuse) return false;
          this.evicted.push({ key: oldest.key, recorded: oldest.hits });
        }
        this.order.shift();
      }
      entry = { key, lastAt: Number.NEGATIVE_INFINITY, hits: 0 };
    }
    this.order.push(entry);
    entry.lastAt = Math.max(entry.lastAt, at);
    entry.hits++;
    this.sweep(now);
    return true;
  }

  sweep(now: number): void {
    for (let step = 0; step < 2 && this.order.length > 0; step++) {
      if (this.order[0]!.lastAt > now - this.retentionMs) return;
      this.order.shift();
    }
  }
}

type Op =
  | { op: 'record'; key: number; advanceMs: number; lateMs: number }
  | { op: 'query'; key: number; advanceMs: number };

function opsOver(keys: number, maxAdvanceMs: number): fc.Arbitrary<Op[]> {
  const key = fc.nat(keys - 1);
  const advanceMs = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: maxAdvanceMs }));
  return fc.array(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('record' as const),
          key,
          advanceMs,
          lateMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 * maxAdvanceMs })),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant('query' as const), key, advanceMs }),
      },
    ),
    { maxLength: 200 },
  );
}

const strategies: [string, () => CountingStrategy][] = [
  ['FixedWindow', () => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 })],
  ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 5 })],
];

describe.each(strategies)('%s: which keys survive maxKeys', (_name, make) => {
  it.each([
    ['evict', 'with time standing still: the last maxKeys keys recorded', 0],
    ['evict', 'with keys going idle', 2_000],
    ['refuse', 'refusing new keys at the cap', 2_000],
  ] as const)('%s, %s', (whenFull, _what, maxAdvanceMs) => {
    fc.assert(
      fc.property(opsOver(12, maxAdvanceMs), fc.integer({ min: 1, max: 6 }), (list, maxKeys) => {
        const clock = new ManualClock(1_000_000);
        const counter = new HitCounter({
          strategy: make(),
          clock: clock.now,
          maxKeys,
          whenFull,
        });
        const oracle = new KeysOracle(
          maxKeys,
          counter.strategy.retentionSeconds * 1000,
          whenFull === 'refuse',
        );
        const evicted: { key: string; removed: number }[] = [];
        counter.on('pruned', ({ key, removed, reason }: HitCounterEvents['pruned']) => {
          if (reason === 'evicted') evicted.push({ key, removed });
        });
        let now = 1_000_000;
        for (const step of list) {
          now += step.advanceMs;
          clock.set(now);
          const key = `key${step.key}`;
          if (step.op === 'record') {
            const error = thrown(() => counter.record(key, now - step.lateMs));
            const accepted = oracle.record(key, now - step.lateMs, now);
            if (accepted) expect(error).toBeUndefined();
            else expect(error).toBeInstanceOf(CapacityError);
          } else {
            counter.query(key, 5);
            oracle.sweep(now);
          }
          const held = counter.snapshot().keys;
          expect(held.map((entry) => entry.key)).toEqual(oracle.order.map((entry) => entry.key));
          expect(held.map((entry) => entry.lastAt)).toEqual(
            oracle.order.map((entry) => entry.lastAt),
          );
        }
        expect(evicted.map((event) => event.key)).toEqual(oracle.evicted.map((e) => e.key));
        evicted.forEach((event, i) => {
          expect(event.removed).toBeLessThanOrEqual(oracle.evicted[i]!.recorded);
        });
        expect(counter.metrics().evicted_keys).toBe(oracle.evicted.length);
        expect(counter.metrics().keys_count).toBeLessThanOrEqual(maxKeys);
      }),
      { numRuns: 150 },
    );
  });
});

describe('maxKeys bounds memory', () => {
  it.each([
    ['FixedWindow', () => new FixedWindow({ windowSeconds: 10 })],
    ['SlidingWindowCounter', () => new SlidingWindowCounter({ windowSeconds: 10 })],
    ['Morris', () => new Morris()],
    ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 60 })],
  ])('%s: 50,000 distinct keys into 1,000 slots (the issue: 2M keys, 839 MB)', (_n, make) => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({ strategy: make(), clock: clock.now, maxKeys: 1_000 });
    for (let i = 0; i < 50_000; i++) {
      clock.set(i);
      counter.record(`/random/${i}`);
    }
    const metrics = counter.metrics();
    expect(metrics.keys_count).toBe(1_000);
    expect(metrics.evicted_keys).toBe(49_000);
    expect(metrics.total_hits - metrics.pruned_events).toBe(1_000);
    // The most recent keys are the ones kept, with their hits.
    const reach = counter.strategy.maxWindowSeconds;
    expect(counter.query('/random/49999', reach)).toBe(1);
    expect(counter.query('/random/48999', reach)).toBe(0);
  });

  it('holds 100,000 keys by default and evicts the least recent past that', () => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({ clock: clock.now });
    for (let i = 0; i <= 100_000; i++) counter.record(`k${i}`);
    expect(counter.metrics().keys_count).toBe(100_000);
    expect(counter.metrics().evicted_keys).toBe(1);
    expect(counter.query('k0', 10)).toBe(0);
    expect(counter.query('k1', 10)).toBe(1);
  });

  it('refuses a maxKeys past what V8’s Map can hold under churn, and expectedKeys past maxKeys', () => {
    expect(() => new HitCounter({ maxKeys: 2 ** 23 + 1 })).toThrow(ConfigError);
    expect(() => new HitCounter({ maxKeys: 2 ** 24 })).toThrow(/HitCounter\.maxKeys/);
    expect(() => new HitCounter({ maxKeys: 0 })).toThrow(/HitCounter\.maxKeys/);
    expect(() => new HitCounter({ maxKeys: 2 ** 23 })).not.toThrow();
    expect(() => new HitCounter({ maxKeys: 10, expectedKeys: 11 })).toThrow(
      /HitCounter\.expectedKeys: must be an integer from 0 to 10/,
    );
    expect(() => new HitCounter({ whenFull: 'drop' as never })).toThrow(
      /HitCounter\.whenFull: must be 'evict' or 'refuse', got "drop"/,
    );
  });
});

describe('what remains past maxKeys is a typed error', () => {
  it('tables the system will not allocate: a CapacityError, not a RangeError', () => {
    const strategy = new FixedWindow({ windowSeconds: 0.001, maxWindowSeconds: 65 });
    const error = thrown(
      () => new HitCounter({ strategy, maxKeys: 2 ** 23, expectedKeys: 2 ** 23 }),
    );
    expect(error).toBeInstanceOf(CapacityError);
    expect((error as CapacityError).limit).toBe('HitCounter.maxKeys');
    expect((error as Error).cause).toBeInstanceOf(RangeError);
  });

  it('growth that fails mid-traffic refuses the new key and changes nothing', () => {
    const inner = new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 });
    const strategy: CountingStrategy = {
      kind: 'fails-past-32',
      params: {},
      maxWindowSeconds: 5,
      retentionSeconds: 6,
      create(): StrategyState {
        const state = inner.create();
        return {
          get entries() {
            return state.entries;
          },
          resize(capacity) {
            if (capacity > 32) throw new RangeError('Array buffer allocation failed');
            state.resize(capacity);
          },
          record: (slot, at, now) => state.record(slot, at, now),
          query: (slot, now, spanMs) => state.query(slot, now, spanMs),
          clear: (slot) => state.clear(slot),
          save: (slot) => state.save(slot),
          load: (slot, data, newestAt) => state.load(slot, data, newestAt),
        };
      },
    };
    const clock = new ManualClock(10_000);
    const counter = new HitCounter({ strategy, clock: clock.now });
    for (let i = 0; i < 32; i++) counter.record(`k${i}`);
    const before = { ...counter.snapshot(), takenAt: 0 };
    const error = thrown(() => counter.record('k32'));
    expect(error).toBeInstanceOf(CapacityError);
    expect((error as Error).message).toMatch(/could not allocate the tables for 64 keys/);
    expect({ ...counter.snapshot(), takenAt: 0 }).toEqual(before);
    counter.record('k0');
    expect(counter.query('k0', 5)).toBe(2);
  });

  it('restore refuses more keys than maxKeys', () => {
    const big = new HitCounter({ clock: () => 0 });
    for (let i = 0; i < 20; i++) big.record(`k${i}`);
    const small = new HitCounter({ clock: () => 0, maxKeys: 10 });
    expect(() => small.restore(big.snapshot())).toThrow(
      /keys: 20 keys, this counter holds at most 10/,
    );
  });

  it('a restored counter evicts in the order the snapshot kept', () => {
    const clock = new ManualClock(0);
    const source = new HitCounter({ clock: clock.now, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'a']) source.record(key);
    const copy = new HitCounter({ clock: clock.now, maxKeys: 3 });
    copy.restore(source.snapshot());
    copy.record('d');
    expect(copy.snapshot().keys.map((entry) => entry.key)).toEqual(['c', 'a', 'd']);
    expect(copy.metrics().evicted_keys).toBe(1);
  });
});
