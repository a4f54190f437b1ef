import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError, StoreError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { ManualClock } from '../../src/time/manual-clock.js';
import { storeConformance } from './conformance.js';
import { guardConformance } from './guard-conformance.js';
import { Oracle } from './oracle.js';

storeConformance('MemoryStore', { make: () => new MemoryStore() });
guardConformance('MemoryStore', { make: () => new MemoryStore() });

/**
 * The memory store seen only through the `Store` interface, so the BanHammer takes the path a
 * Redis store will take (promises, `Decision` objects) instead of the sync core.
 */
class InterfaceOnly implements Store {
  readonly #inner = new MemoryStore({ initialCapacity: 16 });
  open: Store['open'] = (setup) => this.#inner.open(setup);
  incr: Store['incr'] = (token, metric) => this.#inner.incr(token, metric);
  ban: Store['ban'] = (token, metric, threshold) => this.#inner.ban(token, metric, threshold);
  reset: Store['reset'] = (token, metric) => this.#inner.reset(token, metric);
  banMs: Store['banMs'] = (token) => this.#inner.banMs(token);
  status: Store['status'] = (token, metric) => this.#inner.status(token, metric);
  scan: Store['scan'] = () => this.#inner.scan();
  close: Store['close'] = () => this.#inner.close();
}

storeConformance('MemoryStore through the Store interface', { make: () => new InterfaceOnly() });
guardConformance('MemoryStore through the Store interface', { make: () => new InterfaceOnly() });

describe('MemoryStore', () => {
  const bans = {
    m: { thresholds: [{ limit: 3, window: 60, action: [], action_duration: 600 }] },
  };

  it('leaves a store that throws instead of rejecting to reject incr, before and after it opens', async () => {
    class Throwing extends InterfaceOnly {
      override incr: Store['incr'] = () => {
        throw new StoreError('store down');
      };
    }
    const hammer = new BanHammer(bans, { store: new Throwing() });
    let first: Promise<unknown> | undefined;
    expect(() => {
      first = hammer.incr('t', 'm');
    }).not.toThrow();
    await expect(first).rejects.toThrow('store down');
    let second: Promise<unknown> | undefined;
    expect(() => {
      second = hammer.incr('t', 'm');
    }).not.toThrow();
    await expect(second).rejects.toThrow('store down');
  });

  it('serves one BanHammer only', () => {
    const store = new MemoryStore();
    new BanHammer(bans, { store });
    expect(() => new BanHammer(bans, { store })).toThrow(StoreError);
  });

  it('refuses calls after close()', async () => {
    const hammer = new BanHammer(bans);
    await hammer.close();
    await expect(hammer.incr('t', 'm')).rejects.toThrow(StoreError);
    await expect(hammer.status('t', 'm')).rejects.toThrow(StoreError);
    await hammer.close();
  });

  it('streams scan() in batches, each pair present throughout exactly once', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ scanBatch: 7 });
    const hammer = new BanHammer(bans, { store, clock: clock.now });
    for (let i = 0; i < 100; i++) await hammer.incr(`t${i}`, 'm');
    const seen = new Map<string, number>();
    let k = 0;
    for await (const { token, status } of hammer.scan()) {
      seen.set(token, (seen.get(token) ?? 0) + 1);
      expect(status.token_rate_1m).toBe(1);
      // Churn while walking: drop some pairs, add others (which may reuse their slots).
      if (k % 10 === 0) await hammer.reset(`t${99 - k / 10}`, 'm');
      if (k % 10 === 5) await hammer.incr(`new${k}`, 'm');
      k++;
    }
    for (let i = 0; i < 90; i++) expect(seen.get(`t${i}`)).toBe(1);
    for (const count of seen.values()) expect(count).toBe(1);
  });

  it('rejects a maxTokens that is not a positive integer', () => {
    for (const maxTokens of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryStore({ maxTokens })).toThrow(ConfigError);
    }
    expect(() => new MemoryStore({ maxTokens: Number.POSITIVE_INFINITY })).not.toThrow();
  });

  it('reports a Decision with the tripped and blocking thresholds', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1000);
    await store.open({
      clock: clock.now,
      metrics: [
        {
          name: 'm',
          thresholds: [
            { limit: 1, windowSeconds: 60, durationSeconds: 60, shadow: false },
            { limit: 2, windowSeconds: 60, durationSeconds: 60, shadow: false },
          ],
        },
      ],
    });
    expect((await store.incr('t', 0)).passed).toBe(true);
    expect(await store.incr('t', 0)).toMatchObject({ passed: false, tripped: [0], blocking: [] });
    expect(await store.incr('t', 0)).toMatchObject({ passed: false, tripped: [1], blocking: [0] });
    expect(await store.incr('t', 0)).toMatchObject({
      passed: false,
      tripped: [],
      blocking: [0, 1],
      stats: { token_rate_1m: 4, token_rate_10m: 4, token_rate_60m: 4 },
    });
    await store.close();
    expect(() => store.core).toThrow(StoreError);
  });

  it('drops idle tokens incrementally once their windows and bans are over', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const hammer = new BanHammer(bans, { store, clock: clock.now });
    for (let i = 0; i < 1000; i++) hammer.incr(`idle-${i}`, 'm');
    expect(store.size).toBe(1000);
    // Still inside the hour that the 60m rate covers: nothing may go.
    clock.advance(3599);
    for (let i = 0; i < 1000; i++) hammer.incr(`fresh-${i}`, 'm');
    expect(store.size).toBe(2000);
    // Past it, each new pair frees the dead ones under the hand (two per pair); dead pairs
    // are no longer reported even before the hand reaches them.
    clock.advance(2);
    expect(Object.keys(await hammer.statusAll())).toHaveLength(1000);
    for (let i = 0; i < 1000; i++) hammer.incr(`later-${i}`, 'm');
    expect(store.size).toBe(2000);
    expect(store.core.expirations).toBe(1000);
    expect(store.sweep(4000)).toBe(0);
  });

  it('keeps a banned token until its ban ends, even when that is past the windows', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const long = {
      m: { thresholds: [{ limit: 0, window: 1, action: [], action_duration: 86_400 }] },
    };
    const hammer = new BanHammer(long, { store, clock: clock.now });
    expect(await hammer.incr('banned', 'm')).toBe(false);
    clock.advance(86_399);
    for (let i = 0; i < 10; i++) await hammer.incr(`other-${i}`, 'm');
    expect((await hammer.status('banned', 'm')).blocked_until).toBe(86_400_000);
    clock.advance(2);
    for (let i = 0; i < 10; i++) await hammer.incr(`later-${i}`, 'm');
    expect((await hammer.status('banned', 'm')).blocked_until).toBeNull();
    // Only the 'banned' token was dropped; the others' bans still run.
    expect(store.size).toBe(20);
  });

  it('caps memory under a flood of 5M distinct tokens with maxTokens', () => {
    const store = new MemoryStore({ maxTokens: 10_000 });
    const hammer = new BanHammer(bans, { store, clock: () => 0 });
    const core = store.core;
    for (let i = 0; i < 5_000_000; i++) core.incr(`flood-${i}`, 0);
    expect(store.size).toBe(10_000);
    expect(core.evictions).toBe(5_000_000 - 10_000);
    // The typed arrays stay sized for the cap, not for the flood.
    expect(core.arrayBytes).toBeLessThan(2_000_000);
    expect(hammer.counters.decisions).toBe(0); // the flood went straight to the core
  });

  it('bounds memory without a cap when the flood is spread over time', () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ maxTokens: Number.POSITIVE_INFINITY });
    new BanHammer(bans, { store, clock: clock.now });
    const core = store.core;
    // 2M distinct tokens, 1,000 per second: about 3.6M would be alive at most after an hour.
    let peak = 0;
    for (let i = 0; i < 2_000_000; i++) {
      if (i % 1000 === 0) clock.advance(1);
      core.incr(`t${i}`, 0);
      if (store.size > peak) peak = store.size;
    }
    expect(peak).toBeLessThanOrEqual(3_601_000);
    // Once it is all dead, the hand (two slots per new pair) frees every slot within a turn.
    clock.advance(3601);
    const turn = Math.ceil(peak / 2) + 1;
    for (let i = 0; i < turn; i++) core.incr(`u${i}`, 0);
    expect(store.size).toBeLessThanOrEqual(turn);
    expect(core.expirations).toBe(2_000_000);
  });

  it('passes over banned tokens when evicting at the cap', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ maxTokens: 100 });
    const hammer = new BanHammer(bans, { store, clock: clock.now });
    await hammer.now('attacker', 'm');
    for (let i = 0; i < 1000; i++) await hammer.incr(`visitor-${i}`, 'm');
    expect(store.size).toBe(100);
    expect(await hammer.incr('attacker', 'm')).toBe(false);
    expect((await hammer.status('attacker', 'm')).bans).toHaveLength(1);
  });

  it('loses no pair while its index doubles step by step, with pairs freed mid-migration', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ initialCapacity: 16 });
    const hammer = new BanHammer(bans, { store, clock: clock.now });
    const core = store.core;
    // One dead pair in four: each new pair's sweep (two slots) frees one on average, so
    // the table still grows, and its index doubles, while pairs leave it.
    const kept: string[] = [];
    for (let i = 0; i < 4000; i++) {
      core.incr(i % 4 === 0 ? `dead-${i}` : `kept-${i}`, 0);
      if (i % 4 !== 0) kept.push(`kept-${i}`);
    }
    clock.advance(3000);
    for (const token of kept) core.incr(token, 0);
    for (const token of kept) core.incr(token, 0);
    clock.advance(601); // the dead pairs' hour is over; the kept ones saw two events 601 s ago
    const fresh: string[] = [];
    let lost = 0;
    for (let i = 0; i < 20_000; i++) {
      fresh.push(`fresh-${i}`);
      core.incr(`fresh-${i}`, 0);
      // Look up older pairs between inserts, so lookups meet pairs not yet migrated.
      for (const token of [kept[(i * 7) % kept.length]!, fresh[(i * 13) % fresh.length]!]) {
        if (!core.readRates(token, 0)) lost++;
      }
    }
    expect(lost).toBe(0);
    core.sweep(1_000_000);
    expect(core.expirations).toBe(1000);
    expect(store.size).toBe(kept.length + fresh.length);
    // Every pair is found with its own history: a pair lost by the index would read as new.
    for (const token of kept) {
      expect((await hammer.status(token, 'm')).token_rate_60m, token).toBe(2);
    }
    for (const token of fresh) {
      expect((await hammer.status(token, 'm')).token_rate_60m, token).toBe(1);
    }
    expect(Object.keys(await hammer.statusAll())).toHaveLength(kept.length + fresh.length);
  });

  it('starts small and doubles its records when the system refuses the reservation', async () => {
    // Where address space is committed up front, a 128 MB buffer may be refused: simulate it.
    const Real = globalThis.SharedArrayBuffer;
    class Refusing extends Real {
      constructor(length: number) {
        if (length > 1 << 20) throw new RangeError('Array buffer allocation failed');
        super(length);
      }
    }
    globalThis.SharedArrayBuffer = Refusing as SharedArrayBufferConstructor;
    try {
      const store = new MemoryStore({ maxTokens: 100_000 });
      const hammer = new BanHammer(bans, { store, clock: () => 1_000 });
      // 1,024 slots to start with (64 KB): 5,000 pairs make the records double three times.
      for (let i = 0; i < 5_000; i++) expect(await hammer.incr(`t-${i}`, 'm')).toBe(true);
      for (let k = 0; k < 3; k++) expect(await hammer.incr('t-7', 'm')).toBe(k < 2);
      expect(store.size).toBe(5_000);
      expect((await hammer.status('t-4999', 'm')).token_rate_1m).toBe(1);
      expect((await hammer.status('t-7', 'm')).token_rate_1m).toBe(4);
      expect((await hammer.status('t-7', 'm')).blocked_until).toBe(601_000);
      expect(store.core.arrayBytes).toBeLessThan(1_000_000);
    } finally {
      globalThis.SharedArrayBuffer = Real;
    }
  });

  it('moves a busy token to bucketed rates without changing its decisions', async () => {
    const clock = new ManualClock(0);
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 20, window: 10, action: [], action_duration: 0 }] } },
      { clock: clock.now, returnRates: true },
    );
    // 2 events a second for 2 hours: far beyond the 32-slot ring, so rates are bucketed.
    let last: [boolean, { token_rate_1m: number; token_rate_10m: number; token_rate_60m: number }] =
      [true, { token_rate_1m: 0, token_rate_10m: 0, token_rate_60m: 0 }];
    for (let i = 0; i < 14_400; i++) {
      last = await hammer.incr('busy', 'm');
      expect(last[0]).toBe(true);
      clock.advance(0.5);
    }
    // Exact counts would be 120, 1200, 7200; buckets may miss up to 1/60 of each window.
    expect(last[1].token_rate_1m).toBeGreaterThanOrEqual(118);
    expect(last[1].token_rate_1m).toBeLessThanOrEqual(120);
    expect(last[1].token_rate_10m).toBeGreaterThanOrEqual(1180);
    expect(last[1].token_rate_60m).toBeGreaterThanOrEqual(7080);
    expect(last[1].token_rate_60m).toBeLessThanOrEqual(7200);
    // 21 events within 10 s trip it: a burst.
    for (let i = 0; i < 20; i++) await hammer.incr('busy', 'm');
    expect((await hammer.incr('busy', 'm'))[0]).toBe(false);
  });

  it('keeps bucketed rates within 1/60 of each window of the exact counts', () => {
    // A 16-slot ring (limit 3): a token is bucketed after 16 events within an hour.
    const thresholds = [{ limit: 3, window: 1, action_duration: 0 }];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 8, arbitrary: fc.integer({ min: 0, max: 3000 }) },
            { weight: 1, arbitrary: fc.integer({ min: 3000, max: 900_000 }) },
          ),
          { minLength: 20, maxLength: 600 },
        ),
        (steps) => {
          const clock = new ManualClock(0);
          const store = new MemoryStore();
          new BanHammer(
            { m: { thresholds: thresholds.map((t) => ({ ...t, action: [] })) } },
            { store, clock: clock.now },
          );
          const oracle = new Oracle(thresholds);
          let now = 0;
          for (const step of steps) {
            now += step;
            clock.set(now);
            oracle.incr('t', now);
            store.core.incr('t', 0);
            store.core.readLastRates();
            [60, 600, 3600].forEach((window, w) => {
              const rate = store.core.rates[w]!;
              expect(rate).toBeLessThanOrEqual(oracle.count('t', now, window));
              expect(rate).toBeGreaterThanOrEqual(oracle.count('t', now, window - window / 60));
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
