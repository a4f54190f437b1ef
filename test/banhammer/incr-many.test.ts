import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError, StoreError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { ManualClock } from '../../src/time/manual-clock.js';

/**
 * `BanHammer#incrMany` against its definition: `incr` once per token, in order, on a twin
 * BanHammer fed the same events at the same times. Both record every action call and
 * `tripped` event; the answers, the counters and those records must be the same.
 */

const TOKENS = [
  '10.1.2.3', // allow-listed
  '192.0.2.7', // deny-listed
  '10.66.0.1', // in both: the allow-list wins
  '203.0.113.9',
  '2001:db8::5', // allow-listed
  '2001:dead::1', // deny-listed
  '198.51.100.1',
  'user:alice',
  '__proto__',
  '',
];

interface Twin {
  hammer: BanHammer<boolean>;
  log: string[];
}

function twin(
  thresholds: { limit: number; window: number; action_duration: number }[],
  clock: ManualClock,
  lists: boolean,
  returnRates: boolean,
): Twin {
  const log: string[] = [];
  const record: Action = (token, duration, metric, window, limit) => {
    log.push(`action ${token} ${duration} ${metric} ${window} ${limit}`);
  };
  const hammer = new BanHammer(
    {
      m: { thresholds: thresholds.map((t) => ({ ...t, action: [record] })) },
      other: { thresholds: [{ limit: 1, window: 60, action: [record], action_duration: 60 }] },
    },
    {
      clock: clock.now,
      returnRates,
      ...(lists
        ? {
            allowList: ['10.0.0.0/8', '2001:db8::/32'],
            denyList: ['192.0.2.0/24', '2001:dead::/32', '10.66.0.0/16'],
          }
        : {}),
    },
  );
  hammer.on('tripped', (event) => {
    log.push(`tripped ${event.token} ${event.metric} ${event.threshold}`);
  });
  return { hammer, log };
}

describe('BanHammer#incrMany', () => {
  it('answers, counts and acts exactly like incr once per token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            limit: fc.integer({ min: 0, max: 4 }),
            window: fc.integer({ min: 1, max: 60 }),
            action_duration: fc.integer({ min: 0, max: 90 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(
          fc.record({
            // Some steps longer than 10 minutes, so that the three rates differ.
            advanceSeconds: fc.oneof(
              fc.integer({ min: 0, max: 45 }),
              fc.integer({ min: 300, max: 1500 }),
            ),
            metric: fc.constantFrom('m', 'other'),
            tokens: fc.array(fc.constantFrom(...TOKENS), { maxLength: 140 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.boolean(),
        fc.boolean(),
        async (thresholds, steps, lists, returnRates) => {
          const clock = new ManualClock(1_700_000_000_000);
          const batched = twin(thresholds, clock, lists, returnRates);
          const single = twin(thresholds, clock, lists, returnRates);
          for (const step of steps) {
            clock.advance(step.advanceSeconds);
            const expected = [];
            for (const token of step.tokens)
              expected.push(await single.hammer.incr(token, step.metric));
            expect(await batched.hammer.incrMany(step.tokens, step.metric)).toEqual(expected);
            expect(batched.hammer.counters).toEqual(single.hammer.counters);
          }
          await batched.hammer.settled();
          await single.hammer.settled();
          expect(batched.log).toEqual(single.log);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects, before counting anything, an unknown metric or a token that is not a string', async () => {
    const hammer = new BanHammer({
      m: { thresholds: [{ limit: 5, window: 60, action: [], action_duration: 60 }] },
    });
    await expect(hammer.incrMany(['a'], 'nope')).rejects.toThrow(ConfigError);
    await expect(hammer.incrMany(['a', 7 as unknown as string], 'm')).rejects.toMatchObject({
      code: 'HITWARDEN_INVALID_KEY',
      message: 'BanHammer.incrMany: tokens[1] must be a string, got 7',
    });
    await expect(hammer.incrMany('abc' as unknown as string[], 'm')).rejects.toMatchObject({
      code: 'HITWARDEN_INVALID_KEY',
    });
    expect(hammer.counters.decisions).toBe(0);
    expect((await hammer.status('a', 'm')).token_rate_1m).toBe(0);
    await hammer.close();
    await expect(hammer.incrMany(['a'], 'm')).rejects.toThrow(StoreError);
  });

  it('decides through any store, one incr per token, when the store is not the memory store', async () => {
    const inner = new MemoryStore();
    const calls: string[] = [];
    const store: Store = {
      open: (setup) => inner.open(setup),
      incr: (token, metric) => {
        calls.push(token);
        return inner.incr(token, metric);
      },
      ban: (token, metric, threshold) => inner.ban(token, metric, threshold),
      reset: (token, metric) => inner.reset(token, metric),
      banMs: (token) => inner.banMs(token),
      status: (token, metric) => inner.status(token, metric),
      scan: () => inner.scan(),
      close: () => inner.close(),
    };
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] } },
      { store },
    );
    expect(await hammer.incrMany(['a', 'b', 'a', 'a'], 'm')).toEqual([true, true, false, false]);
    expect(calls).toEqual(['a', 'b', 'a', 'a']);
    expect(hammer.counters.refused).toBe(2);
  });
});
