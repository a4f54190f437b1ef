/*
 * The BanHammer store conformance suite: one set of tests that every `Store` must pass,
 * unchanged. A store's own test file calls
 *
 *     storeConformance('MemoryStore', { make: () => new MemoryStore() });
 *
 * The tests drive time with a ManualClock, handed both to the BanHammer and to `make`: a store
 * that keeps its own time (Redis `TIME`) must let its tests follow the given clock instead, or
 * hour-long windows could not be tested without waiting an hour.
 */

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { BanHammer, type BanHammerOptions } from '../../src/banhammer/ban-hammer.js';
import type { BansConfig } from '../../src/banhammer/config.js';
import { ConfigError } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';
import type { Clock } from '../../src/time/clock.js';
import { ManualClock } from '../../src/time/manual-clock.js';
import { Oracle, type OracleThreshold } from './oracle.js';

export interface ConformanceOptions {
  /** A fresh, empty store. */
  make: (clock: Clock) => Store | Promise<Store>;
  /** Runs of each property test (fewer for a remote store). @default 150 */
  propertyRuns?: number;
}

const START = Date.parse('2026-01-01T00:00:00Z');

type Call = [token: string, duration: number, metric: string, window: number, limit: number];

/** An action that records its calls. */
function recorder(name = 'recorder'): Action & { calls: Call[] } {
  const calls: Call[] = [];
  const action = {
    [name]: (...args: Call) => {
      calls.push(args);
    },
  }[name]!;
  return Object.assign(action, { calls });
}

export function storeConformance(name: string, options: ConformanceOptions): void {
  describe(`Store conformance: ${name}`, () => {
    const open: BanHammer<boolean>[] = [];
    afterEach(async () => {
      for (const hammer of open.splice(0)) await hammer.close();
    });

    async function setup<R extends boolean = false>(
      bans: BansConfig,
      extra: BanHammerOptions<R> = {},
    ): Promise<{ hammer: BanHammer<R>; clock: ManualClock }> {
      const clock = new ManualClock(START);
      const store = await options.make(clock.now);
      const hammer = new BanHammer<R>(bans, { clock: clock.now, store, ...extra });
      open.push(hammer as BanHammer<boolean>);
      return { hammer, clock };
    }

    it("follows the spec's example: 10 pass, the 11th is refused and runs the action", async () => {
      const block = recorder('blockLocalStub');
      const report = recorder('reportStub');
      const { hammer, clock } = await setup({
        login_failed: {
          thresholds: [
            { limit: 10, window: 3600, action: [block], action_duration: 3600 },
            { limit: 100, window: 3600, action: [report], action_duration: 86400 },
          ],
        },
      });
      for (let i = 0; i < 10; i++) {
        expect(await hammer.incr('203.0.113.9', 'login_failed')).toBe(true);
        clock.advance(1);
      }
      expect(await hammer.incr('203.0.113.9', 'login_failed')).toBe(false);
      await hammer.settled();
      expect(block.calls).toEqual([['203.0.113.9', 3600, 'login_failed', 3600, 10]]);

      // During the block: refused, and the action runs again.
      clock.advance(1800);
      expect(await hammer.incr('203.0.113.9', 'login_failed')).toBe(false);
      await hammer.settled();
      expect(block.calls).toHaveLength(2);
      expect(report.calls).toHaveLength(0);

      // Another token is untouched.
      expect(await hammer.incr('203.0.113.10', 'login_failed')).toBe(true);

      // After the block and the window, the token passes again.
      clock.advance(3600);
      expect(await hammer.incr('203.0.113.9', 'login_failed')).toBe(true);
      await hammer.settled();
      expect(block.calls).toHaveLength(2);
    });

    it('climbs to the next threshold: 101 events within the hour trip the second', async () => {
      const block = recorder();
      const report = recorder();
      const { hammer, clock } = await setup({
        login_failed: {
          thresholds: [
            { limit: 10, window: 3600, action: [block], action_duration: 3600 },
            { limit: 100, window: 3600, action: [report], action_duration: 86400 },
          ],
        },
      });
      const tripped: number[] = [];
      // Events come after the decision, like actions: when one fires, the call that tripped it
      // (the 11th, then the 101st) has already resolved. (A store with I/O lets earlier events
      // fire while a later call waits, so "none fired yet" is not what to check.)
      let resolved = 0;
      const resolvedAtEvent: number[] = [];
      hammer.on('tripped', (event) => {
        tripped.push(event.threshold);
        resolvedAtEvent.push(resolved);
      });
      const passed: boolean[] = [];
      for (let i = 0; i < 101; i++) {
        passed.push(await hammer.incr('198.51.100.1', 'login_failed'));
        resolved++;
        clock.advance(10);
      }
      await hammer.settled();
      expect(passed.filter(Boolean)).toHaveLength(10);
      expect(tripped).toEqual([0, 1]);
      expect(resolvedAtEvent[0]).toBeGreaterThanOrEqual(11);
      expect(resolvedAtEvent[1]).toBeGreaterThanOrEqual(101);
      // 91 events after the first trip: the tripping one and 90 refused re-runs.
      expect(block.calls).toHaveLength(91);
      expect(report.calls).toEqual([['198.51.100.1', 86400, 'login_failed', 3600, 100]]);

      // The first ban ends after an hour; the second holds for a day.
      clock.advance(3600);
      expect(await hammer.incr('198.51.100.1', 'login_failed')).toBe(false);
      const status = await hammer.status('198.51.100.1', 'login_failed');
      expect(status.bans.map((ban) => ban.threshold)).toEqual([1]);
      expect(status.blocked_until).toBe(START + 1000 * (10 * 100) + 86_400_000);
    });

    it('decides concurrent events one at a time: exactly `limit` pass, one trip', async () => {
      const action = recorder();
      const { hammer } = await setup({
        m: { thresholds: [{ limit: 500, window: 60, action: [action], action_duration: 60 }] },
      });
      const trips: number[] = [];
      hammer.on('tripped', (event) => trips.push(event.threshold));
      const results = await Promise.all(Array.from({ length: 1000 }, () => hammer.incr('t', 'm')));
      expect(results.filter(Boolean)).toHaveLength(500);
      // In arrival order: the first 500 pass, every later one is refused.
      expect(results.indexOf(false)).toBe(500);
      await hammer.settled();
      expect(trips).toEqual([0]);
      expect(action.calls).toHaveLength(500); // the trip, then 499 refused re-runs
      expect((await hammer.status('t', 'm')).token_rate_1m).toBe(1000);
    });

    it('incrMany decides a batch in order, like incr once per token', async () => {
      const action = recorder();
      const { hammer } = await setup({
        m: { thresholds: [{ limit: 2, window: 60, action: [action], action_duration: 60 }] },
      });
      const tokens = Array.from({ length: 300 }, (_, i) => `10.0.${i % 7}.${i % 3}`);
      const seen = new Map<string, number>();
      // Each token's first two events pass, its third trips, the later ones find it blocked.
      const expected = tokens.map((token) => {
        const n = (seen.get(token) ?? 0) + 1;
        seen.set(token, n);
        return n <= 2;
      });
      expect(await hammer.incrMany(tokens, 'm')).toEqual(expected);
      await hammer.settled();
      expect(action.calls).toHaveLength(expected.filter((passed) => !passed).length);
      expect(hammer.counters.tripped).toBe(seen.size);
      expect((await hammer.status('10.0.0.0', 'm')).token_rate_1m).toBe(seen.get('10.0.0.0'));
    });

    it('counts refused events and keeps thresholds independent', async () => {
      const { hammer, clock } = await setup({
        m: {
          thresholds: [
            { limit: 2, window: 10, action: [], action_duration: 100 },
            { limit: 5, window: 60, action: [], action_duration: 5 },
          ],
        },
      });
      const results: boolean[] = [];
      for (let i = 0; i < 6; i++) results.push(await hammer.incr('t', 'm'));
      expect(results).toEqual([true, true, false, false, false, false]);
      const status = await hammer.status('t', 'm');
      expect(status.token_rate_1m).toBe(6);
      expect(status.bans.map((ban) => ban.threshold)).toEqual([0, 1]);
      // Threshold 1's short ban ends; threshold 0 still holds the token.
      clock.advance(6);
      expect((await hammer.status('t', 'm')).bans.map((ban) => ban.threshold)).toEqual([0]);
      expect(await hammer.incr('t', 'm')).toBe(false);
    });

    it('trips a limit of 0 on every event and a duration of 0 blocks nothing after it', async () => {
      const action = recorder();
      const { hammer, clock } = await setup({
        m: { thresholds: [{ limit: 0, window: 1, action: [action], action_duration: 0 }] },
      });
      expect(await hammer.incr('t', 'm')).toBe(false);
      clock.advance(1);
      expect(await hammer.incr('t', 'm')).toBe(false);
      await hammer.settled();
      expect(action.calls).toHaveLength(2);
      expect((await hammer.status('t', 'm')).blocked_until).toBeNull();
    });

    it('resolves [passed, stats] with returnRates and plain booleans without', async () => {
      const bans: BansConfig = {
        m: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] },
      };
      const { hammer: withRates, clock } = await setup(bans, { returnRates: true });
      const first: [boolean, unknown] = await withRates.incr('t', 'm');
      expect(first).toEqual([true, { token_rate_1m: 1, token_rate_10m: 1, token_rate_60m: 1 }]);
      clock.advance(120);
      expect(await withRates.incr('t', 'm')).toEqual([
        true,
        { token_rate_1m: 1, token_rate_10m: 2, token_rate_60m: 2 },
      ]);
      expect(await withRates.incr('t', 'm')).toEqual([
        false,
        { token_rate_1m: 2, token_rate_10m: 3, token_rate_60m: 3 },
      ]);

      const { hammer: plain } = await setup(bans, { returnRates: false });
      const answer: boolean = await plain.incr('t', 'm');
      expect(answer).toBe(true);
      expect(await plain.incr('t', 'm')).toBe(false);
    });

    it('now() bans at a threshold at once and runs its actions; reset() lifts it', async () => {
      const first = recorder();
      const second = recorder();
      const { hammer } = await setup({
        m: {
          thresholds: [
            { limit: 5, window: 60, action: [first], action_duration: 60 },
            { limit: 50, window: 60, action: [second], action_duration: 600 },
          ],
        },
      });
      const tripped: { threshold: number; manual: boolean }[] = [];
      hammer.on('tripped', ({ threshold, manual }) => tripped.push({ threshold, manual }));
      const stats = await hammer.now('t', 'm', 1);
      expect(stats.token_rate_1m).toBe(0);
      expect(stats.bans).toEqual([{ threshold: 1, until: START + 600_000 }]);
      expect(await hammer.incr('t', 'm')).toBe(false);
      await hammer.settled();
      expect(second.calls).toEqual([
        ['t', 600, 'm', 60, 50],
        ['t', 600, 'm', 60, 50],
      ]);
      expect(first.calls).toHaveLength(0);
      expect(tripped).toEqual([{ threshold: 1, manual: true }]);

      // now() defaults to threshold 0.
      await hammer.now('u', 'm');
      expect((await hammer.status('u', 'm')).bans.map((ban) => ban.threshold)).toEqual([0]);

      await hammer.reset('t', 'm');
      const after = await hammer.status('t', 'm');
      expect(after).toEqual({
        token_rate_1m: 0,
        token_rate_10m: 0,
        token_rate_60m: 0,
        blocked_until: null,
        bans: [],
      });
      expect(await hammer.incr('t', 'm')).toBe(true);
    });

    it('rejects an unknown metric and an out-of-range threshold with ConfigError', async () => {
      const { hammer } = await setup({
        login_failed: { thresholds: [{ limit: 1, window: 1, action: [], action_duration: 1 }] },
      });
      await expect(hammer.incr('t', 'login_failde')).rejects.toThrow(ConfigError);
      await expect(hammer.incr('t', 'login_failde')).rejects.toThrow(/not a configured metric/);
      await expect(hammer.now('t', 'login_failed', 1)).rejects.toThrow(
        'bans.login_failed.thresholds[1]',
      );
      await expect(hammer.now('t', 'login_failed', -1)).rejects.toThrow(ConfigError);
      await expect(hammer.now('t', 'login_failed', 0.5)).rejects.toThrow(ConfigError);
      await expect(hammer.status('t', 'nope')).rejects.toThrow(ConfigError);
      await expect(hammer.reset('t', 'nope')).rejects.toThrow(ConfigError);
      await expect(hammer.incr(42 as unknown as string, 'login_failed')).rejects.toMatchObject({
        code: 'HITWARDEN_INVALID_KEY',
      });
      // A metric named like an Object.prototype member is not "configured" by accident.
      await expect(hammer.incr('t', 'constructor')).rejects.toThrow(ConfigError);
      await expect(hammer.incr('t', '__proto__')).rejects.toThrow(ConfigError);
    });

    it('statusAll() and scan() list every tracked token and metric', async () => {
      const { hammer } = await setup({
        a: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] },
        b: { thresholds: [{ limit: 10, window: 60, action: [], action_duration: 60 }] },
      });
      await hammer.incr('x', 'a');
      await hammer.incr('x', 'a');
      await hammer.incr('x', 'b');
      await hammer.incr('y', 'b');
      const all = await hammer.statusAll();
      expect(Object.keys(all).sort()).toEqual(['x', 'y']);
      expect(Object.keys(all.x!).sort()).toEqual(['a', 'b']);
      expect(all.x!.a!.token_rate_60m).toBe(2);
      expect(all.x!.a!.bans).toHaveLength(1);
      expect(all.y!.b!.token_rate_1m).toBe(1);
      expect(all.y!.a).toBeUndefined();

      const seen: string[] = [];
      for await (const entry of hammer.scan()) seen.push(`${entry.token}/${entry.metric}`);
      expect(seen.sort()).toEqual(['x/a', 'x/b', 'y/b']);
    });

    it('treats hostile token and metric names as plain strings', async () => {
      const bans = JSON.parse(
        '{"__proto__":{"thresholds":[{"limit":1,"window":60,"action":[],"action_duration":60}]},' +
          '"constructor":{"thresholds":[{"limit":2,"window":60,"action":[],"action_duration":60}]}}',
      );
      const { hammer } = await setup(bans);
      const huge = 'h'.repeat(1_000_000);
      for (const token of ['__proto__', 'constructor', 'hasOwnProperty', '', huge]) {
        expect(await hammer.incr(token, '__proto__')).toBe(true);
        expect(await hammer.incr(token, '__proto__')).toBe(false);
        expect(await hammer.incr(token, 'constructor')).toBe(true);
      }
      const all = await hammer.statusAll();
      expect(Object.keys(all)).toHaveLength(5);
      expect(Object.getPrototypeOf(all)).toBeNull();
      const proto: string = '__proto__';
      const constructorKey: string = 'constructor';
      expect(all[proto]![proto]!.token_rate_1m).toBe(2);
      expect(all[proto]![constructorKey]!.token_rate_1m).toBe(1);
      expect(all[huge]![proto]!.bans).toHaveLength(1);
      const parsed = JSON.parse(JSON.stringify(all));
      expect(Object.hasOwn(parsed, proto)).toBe(true);
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });

    it('keeps decisions exact at a limit of 10,000', async () => {
      const { hammer, clock } = await setup({
        m: { thresholds: [{ limit: 10_000, window: 100, action: [], action_duration: 1 }] },
      });
      // 10,000 events spread over 100 s (one every 10 ms) all pass; the next one trips.
      for (let i = 0; i < 10_000; i++) {
        if (!(await hammer.incr('t', 'm'))) throw new Error(`event ${i} refused`);
        clock.advance(0.01);
      }
      // The first event is now exactly 100 s old: out of the window, so this one passes too.
      expect(await hammer.incr('t', 'm')).toBe(true);
      // 10,001 events in the window now, counting this one: refused.
      clock.set(START + 100_000 + 5);
      expect(await hammer.incr('t', 'm')).toBe(false);
    });

    it('agrees with a brute-force oracle on decisions, and on rates within 1/60 of each window', async () => {
      const threshold = fc.record({
        limit: fc.integer({ min: 0, max: 40 }),
        window: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 60, max: 7200 })),
        action_duration: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3600 })),
      });
      const step = fc.record({
        // Mostly bursts, sometimes long pauses, so rings wrap and slots expire.
        advanceMs: fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 0, max: 500 }) },
          { weight: 2, arbitrary: fc.integer({ min: 500, max: 120_000 }) },
          { weight: 1, arbitrary: fc.integer({ min: 120_000, max: 4_000_000 }) },
        ),
        token: fc.constantFrom('a', 'b', '__proto__'),
        op: fc.oneof(
          { weight: 20, arbitrary: fc.constant('incr' as const) },
          { weight: 1, arbitrary: fc.constant('ban' as const) },
          { weight: 1, arbitrary: fc.constant('reset' as const) },
        ),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(threshold, { minLength: 1, maxLength: 4 }),
          fc.array(step, { minLength: 1, maxLength: 300 }),
          async (thresholds: OracleThreshold[], steps) => {
            const tripped: number[] = [];
            const { hammer, clock } = await setup<true>(
              { m: { thresholds: thresholds.map((t) => ({ ...t, action: [] })) } },
              { returnRates: true },
            );
            hammer.on('tripped', (event) => tripped.push(event.threshold));
            const oracle = new Oracle(thresholds);
            let now = START;
            for (const { advanceMs, token, op } of steps) {
              now += advanceMs;
              clock.set(now);
              if (op === 'ban') {
                const threshold = advanceMs % thresholds.length;
                oracle.ban(token, threshold, now);
                await hammer.now(token, 'm', threshold);
                await hammer.settled(); // its own 'tripped' event, out of the way
                continue;
              }
              if (op === 'reset') {
                oracle.reset(token);
                await hammer.reset(token, 'm');
                continue;
              }
              tripped.length = 0;
              const expected = oracle.incr(token, now);
              const [passed, stats] = await hammer.incr(token, 'm');
              expect(passed).toBe(expected.passed);
              if (expected.tripped.length > 0) await hammer.settled();
              expect(tripped).toEqual(expected.tripped);
              const rates = [stats.token_rate_1m, stats.token_rate_10m, stats.token_rate_60m];
              [60, 600, 3600].forEach((window, w) => {
                expect(rates[w]).toBeLessThanOrEqual(oracle.count(token, now, window));
                expect(rates[w]).toBeGreaterThanOrEqual(
                  oracle.count(token, now, window - window / 60),
                );
              });
            }
            await hammer.close();
          },
        ),
        { numRuns: options.propertyRuns ?? 150 },
      );
    });
  });
}
