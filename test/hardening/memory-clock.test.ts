import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BanHammer,
  ClockGuard,
  InvalidTimeError,
  ManualClock,
  MemoryStore,
} from '../../src/index.js';
import { MemoryCore } from '../../src/store/memory/core.js';
import type { StoreMetric } from '../../src/store/store.js';
import { BLOCKING, HAS_ACTIONS, PASSED, TRIPPED } from '../../src/store/sync-decisions.js';

/*
 * The memory store reads its clock through ClockGuard (docs/time.md): a reading that is not a
 * finite number is an InvalidTimeError that changes nothing, and a large step back is the
 * clock being corrected. State stamped after the corrected time counts as stamped at it, per
 * pair, when the pair is next touched: events move to now, a ban lasts at most its duration
 * from now, and the pair expires at most a span from now.
 */

const T = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const YEAR = 366 * 86_400_000;

const tenPerMinute = {
  m: { thresholds: [{ limit: 10, window: 60, action: [], action_duration: 600 }] },
};

describe('MemoryStore after one wild reading a year ahead', () => {
  it('does not ban a client making one request a minute from its 11th request (the issue)', async () => {
    const clock = new ManualClock(T);
    const hammer = new BanHammer(tenPerMinute, { clock: clock.now });
    expect(await hammer.incr('client', 'm')).toBe(true);
    clock.set(T + YEAR);
    expect(await hammer.incr('other', 'm')).toBe(true);
    for (let minute = 1; minute <= 30; minute++) {
      clock.set(T + minute * MINUTE);
      expect(await hammer.incr('client', 'm')).toBe(true);
    }
  });

  it('moves events stamped at the wild reading to the corrected time, not losing them', async () => {
    const clock = new ManualClock(T);
    const hammer = new BanHammer(tenPerMinute, { clock: clock.now });
    clock.set(T + YEAR);
    for (let i = 0; i < 6; i++) expect(await hammer.incr('client', 'm')).toBe(true);
    clock.set(T + MINUTE);
    // The six wild events count as now: five more pass, the eleventh event in the window trips.
    for (let i = 0; i < 4; i++) expect(await hammer.incr('client', 'm')).toBe(true);
    expect(await hammer.incr('client', 'm')).toBe(false);
    // ... and they leave the window a minute after the correction, not a year later.
    clock.set(T + MINUTE + 601_000);
    expect(await hammer.incr('client', 'm')).toBe(true);
  });

  it('lets a ban started at the wild reading last its duration from the corrected time', async () => {
    const clock = new ManualClock(T);
    const bans = {
      m: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 600 }] },
    };
    const hammer = new BanHammer(bans, { clock: clock.now });
    clock.set(T + YEAR);
    await hammer.incr('attacker', 'm');
    expect(await hammer.incr('attacker', 'm')).toBe(false);
    clock.set(T + MINUTE);
    const status = await hammer.status('attacker', 'm');
    expect(status.blocked_until).toBe(T + MINUTE + 600_000);
    expect(status.bans).toEqual([{ threshold: 0, until: T + MINUTE + 600_000 }]);
    clock.set(T + MINUTE + 600_001);
    expect(await hammer.incr('attacker', 'm')).toBe(true);
  });

  it('moves bucketed rates of a busy token to the corrected time', async () => {
    const clock = new ManualClock(T);
    const bans = {
      m: { thresholds: [{ limit: 1000, window: 1, action: [], action_duration: 1 }] },
    };
    const hammer = new BanHammer(bans, { clock: clock.now, returnRates: true });
    clock.set(T + YEAR);
    // More events than the smallest ring keeps in an hour: the pair's rates are bucketed.
    for (let i = 0; i < 40; i++) await hammer.incr('busy', 'm');
    clock.set(T);
    const [, now] = await hammer.incr('busy', 'm');
    expect(now).toEqual({ token_rate_1m: 41, token_rate_10m: 41, token_rate_60m: 41 });
    clock.set(T + 2 * MINUTE);
    const [, later] = await hammer.incr('busy', 'm');
    expect(later.token_rate_1m).toBe(1);
    expect(later.token_rate_10m).toBe(42);
  });

  it('frees a pair stamped at the wild reading a span after it is touched at the corrected time', () => {
    const clock = new ManualClock(T);
    const store = new MemoryStore();
    new BanHammer(tenPerMinute, { store, clock: clock.now });
    clock.set(T + YEAR);
    store.core.incr('wild', 0);
    clock.set(T);
    // The hand touches the pair at the corrected time: it expires a span (the longest of the
    // windows, the bans and the hour of rates) after that, not a year later.
    store.core.sweep(100);
    expect(store.size).toBe(1);
    clock.set(T + 60 * MINUTE + 1);
    store.core.sweep(100);
    expect(store.size).toBe(0);
    expect(store.core.clockCorrections).toBe(1);
  });
});

describe('MemoryStore with a clock returning garbage', () => {
  const garbage: [string, () => unknown][] = [
    ['NaN', () => Number.NaN],
    ['Infinity', () => Number.POSITIVE_INFINITY],
    ['a string', () => '1767225600000'],
    ['undefined', () => undefined],
    [
      'a throw',
      () => {
        throw new Error('clock broke');
      },
    ],
  ];

  it.each(garbage)(
    'rejects incr with InvalidTimeError, never throwing (%s)',
    async (_name, bad) => {
      let reading: () => unknown = () => T;
      const hammer = new BanHammer(tenPerMinute, { clock: () => reading() as number });
      await hammer.incr('t', 'm');
      reading = bad;
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = hammer.incr('t', 'm');
      }).not.toThrow();
      await expect(result).rejects.toBeInstanceOf(InvalidTimeError);
      let batch: Promise<unknown> | undefined;
      expect(() => {
        batch = hammer.incrMany(['t', 'u'], 'm');
      }).not.toThrow();
      await expect(batch).rejects.toBeInstanceOf(InvalidTimeError);
      await expect(hammer.status('t', 'm')).rejects.toBeInstanceOf(InvalidTimeError);
      await expect(hammer.now('t', 'm')).rejects.toBeInstanceOf(InvalidTimeError);
      // Nothing was counted while the clock was broken.
      reading = () => T;
      const status = await hammer.status('t', 'm');
      expect(status.token_rate_1m).toBe(1);
      expect(status.bans).toEqual([]);
      expect(Object.keys(await hammer.statusAll())).toEqual(['t']);
      expect(hammer.counters.decisions).toBe(1);
    },
  );

  it('rejects incr on a NaN clock from the very first call', async () => {
    const hammer = new BanHammer(tenPerMinute, { clock: () => Number.NaN });
    await expect(hammer.incr('t', 'm')).rejects.toBeInstanceOf(InvalidTimeError);
    await expect(hammer.statusAll()).rejects.toBeInstanceOf(InvalidTimeError);
  });
});

/**
 * The rule on one pair, brute force: every event and ban in plain lists; when the pair is
 * touched after a correction its stamps after now become now, and its bans end at most their
 * duration from now.
 */
class CorrectedOracle {
  readonly #guard: ClockGuard;
  readonly #metric: StoreMetric;
  #events: number[] = [];
  #bans: number[];
  #settled = 0;

  constructor(metric: StoreMetric, clock: () => number) {
    this.#guard = new ClockGuard(clock);
    this.#metric = metric;
    this.#bans = metric.thresholds.map(() => 0);
  }

  #touch(): number {
    const now = this.#guard.read();
    if (this.#settled !== this.#guard.corrections) {
      this.#settled = this.#guard.corrections;
      this.#events = this.#events.map((at) => Math.min(at, now));
      this.#bans = this.#bans.map((until, i) =>
        Math.min(until, now + this.#metric.thresholds[i]!.durationSeconds * 1000),
      );
    }
    return now;
  }

  incr(): number[] {
    const now = this.#touch();
    this.#events.push(now);
    return this.#metric.thresholds.map((threshold, i) => {
      if (this.#bans[i]! > now) return BLOCKING;
      const inWindow = this.#events.filter((at) => at > now - threshold.windowSeconds * 1000);
      if (inWindow.length <= threshold.limit) return 0;
      this.#bans[i] = now + threshold.durationSeconds * 1000;
      return TRIPPED;
    });
  }

  ban(threshold: number): void {
    const now = this.#touch();
    this.#bans[threshold] = now + this.#metric.thresholds[threshold]!.durationSeconds * 1000;
  }

  bans(): { threshold: number; until: number }[] {
    const now = this.#touch();
    return this.#bans.flatMap((until, threshold) => (until > now ? [{ threshold, until }] : []));
  }
}

describe('MemoryCore under a clock that jumps ahead and is corrected (property)', () => {
  const thresholdArb = fc.record({
    limit: fc.integer({ min: 0, max: 5 }),
    windowSeconds: fc.integer({ min: 1, max: 120 }),
    durationSeconds: fc.integer({ min: 1, max: 300 }),
    shadow: fc.constant(false),
  });
  const stepArb = fc.record({
    clock: fc.oneof(
      fc.integer({ min: 0, max: 40_000 }).map((ms) => ({ by: ms })),
      fc.integer({ min: -1_500, max: 0 }).map((ms) => ({ by: ms })),
      fc.constantFrom(YEAR, 3_600_000, 86_400_000).map((ms) => ({ by: ms })),
      fc.integer({ min: 0, max: 600_000 }).map((ms) => ({ to: ms })),
    ),
    op: fc.oneof(
      { weight: 6, arbitrary: fc.constant('incr' as const) },
      { weight: 1, arbitrary: fc.constant('ban' as const) },
      { weight: 1, arbitrary: fc.constant('bans' as const) },
    ),
    threshold: fc.nat(),
  });

  it('decides and bans exactly as the rule applied to every event', () => {
    fc.assert(
      fc.property(
        fc.array(thresholdArb, { minLength: 1, maxLength: 3 }),
        fc.array(stepArb, { maxLength: 120 }),
        (thresholds, steps) => {
          const clock = new ManualClock(T);
          const metric = { name: 'm', thresholds };
          const core = new MemoryCore([metric], clock.now, {});
          const oracle = new CorrectedOracle(metric, clock.now);
          let elapsed = 0;
          for (const step of steps) {
            elapsed = 'by' in step.clock ? elapsed + step.clock.by : step.clock.to;
            clock.set(T + elapsed);
            if (step.op === 'incr') {
              const flags = core.incr('t', 0);
              const expected = oracle.incr();
              const states = Array.from(core.thresholdState.subarray(0, thresholds.length));
              if ((flags & HAS_ACTIONS) === 0) states.fill(0);
              expect(states).toEqual(expected);
              expect((flags & PASSED) !== 0).toBe(expected.every((state) => state === 0));
            } else if (step.op === 'ban') {
              const threshold = step.threshold % thresholds.length;
              core.ban('t', 0, threshold);
              oracle.ban(threshold);
            } else {
              expect(core.bansOf('t', 0)).toEqual(oracle.bans());
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
