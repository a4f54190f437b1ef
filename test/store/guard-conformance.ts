/*
 * What a request guard needs from every store, through `BanHammer#decide`: a ban is on the
 * token (any metric's ban refuses it everywhere), the decision says how long it lasts and how
 * much room is left, a shadow threshold refuses nothing, and `reset`/`lift` undo it all. Run
 * beside the store conformance suite, against every store:
 *
 *     guardConformance('MemoryStore', { make: () => new MemoryStore() });
 */

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { BanHammer, type BanHammerOptions, type Verdict } from '../../src/banhammer/ban-hammer.js';
import type { BansConfig } from '../../src/banhammer/config.js';
import type { TrippedEvent } from '../../src/banhammer/events.js';
import { ManualClock } from '../../src/time/manual-clock.js';
import type { ConformanceOptions } from './conformance.js';
import { Oracle, type OracleThreshold } from './oracle.js';

const START = Date.parse('2026-01-01T00:00:00Z');

const LOGIN_AND_API = {
  request: { thresholds: [{ limit: 1000, window: 60, action: [], action_duration: 60 }] },
  login_failed: {
    thresholds: [
      { limit: 2, window: 60, action: [], action_duration: 600 },
      { limit: 5, window: 3600, action: [], action_duration: 86_400 },
    ],
  },
};

export function guardConformance(name: string, options: ConformanceOptions): void {
  describe(`Guard conformance: ${name}`, () => {
    const open: BanHammer<boolean>[] = [];
    afterEach(async () => {
      for (const hammer of open.splice(0)) await hammer.close();
    });

    async function setup(
      bans: BansConfig,
      extra: BanHammerOptions = {},
    ): Promise<{ hammer: BanHammer; clock: ManualClock }> {
      const clock = new ManualClock(START);
      const store = await options.make(clock.now);
      const hammer = new BanHammer(bans, { clock: clock.now, store, ...extra });
      open.push(hammer as BanHammer<boolean>);
      return { hammer, clock };
    }

    it('a ban tripped on one metric refuses the token on every metric, for as long as it lasts', async () => {
      const { hammer, clock } = await setup(LOGIN_AND_API);
      const ip = '203.0.113.7';
      for (let i = 0; i < 2; i++) expect(await hammer.incr(ip, 'login_failed')).toBe(true);
      expect((await hammer.decide(ip, 'request')).allowed).toBe(true);
      expect(await hammer.incr(ip, 'login_failed')).toBe(false);
      clock.advance(10);
      const refused = await hammer.decide(ip, 'request');
      // Refused although `request`'s own threshold passed it.
      expect(refused).toMatchObject({
        allowed: false,
        by: 'counted',
        passed: true,
        retryAfterMs: 590_000,
      });
      // incr keeps its per-metric answer.
      expect(await hammer.incr(ip, 'request')).toBe(true);
      // Answered from the deny cache now, counting nothing.
      const before = (await hammer.status(ip, 'request')).token_rate_1m;
      clock.advance(1);
      expect(await hammer.decide(ip, 'request')).toMatchObject({
        allowed: false,
        by: 'cached',
        retryAfterMs: 589_000,
      });
      expect((await hammer.status(ip, 'request')).token_rate_1m).toBe(before);
      expect(hammer.counters.deny_cached).toBe(1);
      // Another client is not touched.
      expect((await hammer.decide('198.51.100.1', 'request')).allowed).toBe(true);
      // With no metric, nothing is counted and the ban still holds.
      expect(await hammer.decide(ip, null)).toMatchObject({ allowed: false });
      clock.advance(589);
      expect(await hammer.decide(ip, 'request')).toMatchObject({ allowed: true, retryAfterMs: 0 });
      expect(await hammer.decide(ip, null)).toMatchObject({
        allowed: true,
        by: 'checked',
        retryAfterMs: 0,
      });
    });

    it('a decision that trips reports the ban it started, and the next request meets it in the cache', async () => {
      const { hammer } = await setup(LOGIN_AND_API);
      const ip = '2001:db8::1';
      await hammer.decide(ip, 'login_failed');
      await hammer.decide(ip, 'login_failed');
      expect(await hammer.decide(ip, 'login_failed')).toMatchObject({
        allowed: false,
        by: 'counted',
        passed: false,
        retryAfterMs: 600_000,
      });
      expect(hammer.denyCache.isBlocked(ip)).toBe(true);
      expect((await hammer.decide(ip, 'request')).by).toBe('cached');
    });

    it('reset of the banning metric lifts the token ban; a ban on another metric stays', async () => {
      const { hammer } = await setup({
        a: { thresholds: [{ limit: 0, window: 60, action: [], action_duration: 100 }] },
        b: { thresholds: [{ limit: 0, window: 60, action: [], action_duration: 300 }] },
        c: { thresholds: [{ limit: 1000, window: 60, action: [], action_duration: 1 }] },
      });
      await hammer.incr('t', 'a');
      await hammer.incr('t', 'b');
      expect((await hammer.decide('t', 'c')).retryAfterMs).toBe(300_000);
      await hammer.reset('t', 'b');
      expect(hammer.denyCache.isBlocked('t')).toBe(false);
      expect(await hammer.decide('t', 'c')).toMatchObject({
        allowed: false,
        retryAfterMs: 100_000,
      });
      await hammer.reset('t', 'a');
      expect(await hammer.decide('t', 'c')).toMatchObject({ allowed: true, retryAfterMs: 0 });
    });

    it('lift() ends every ban of the token at once and forgets its events', async () => {
      const { hammer } = await setup(LOGIN_AND_API);
      for (let i = 0; i < 6; i++) await hammer.decide('t', 'login_failed');
      expect((await hammer.decide('t', 'request')).allowed).toBe(false);
      await hammer.lift('t');
      expect(hammer.denyCache.isBlocked('t')).toBe(false);
      expect(await hammer.decide('t', 'request')).toMatchObject({ allowed: true, by: 'counted' });
      expect((await hammer.status('t', 'login_failed')).token_rate_1m).toBe(0);
      expect((await hammer.decide('t', 'login_failed')).allowed).toBe(true);
    });

    it('a shadow threshold trips once per ban, emits it, counts it and refuses nothing', async () => {
      const ran: string[] = [];
      const action: Action = (token) => {
        ran.push(token);
      };
      const { hammer, clock } = await setup({
        m: {
          thresholds: [
            { limit: 1, window: 60, action: [action], action_duration: 120, mode: 'shadow' },
            { limit: 5, window: 60, action: [action], action_duration: 120 },
          ],
        },
      });
      const tripped: TrippedEvent[] = [];
      hammer.on('tripped', (event) => tripped.push(event));
      const verdicts: Verdict[] = [];
      for (let i = 0; i < 4; i++) verdicts.push(await hammer.decide('t', 'm'));
      await hammer.settled();
      expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, true]);
      expect(verdicts.map((v) => v.shadowed)).toEqual([false, true, true, true]);
      expect(tripped).toMatchObject([{ token: 't', threshold: 0, shadow: true, manual: false }]);
      expect(ran).toEqual([]);
      expect(hammer.counters).toMatchObject({
        shadow_tripped: 1,
        shadow_refused: 3,
        tripped: 0,
        refused: 0,
      });
      const status = await hammer.status('t', 'm');
      expect(status.bans).toEqual([]);
      expect(status.blocked_until).toBeNull();
      // The enforcing threshold still works beside it.
      verdicts.length = 0;
      for (let i = 0; i < 2; i++) verdicts.push(await hammer.decide('t', 'm'));
      expect(verdicts.map((v) => v.allowed)).toEqual([true, false]);
      clock.advance(1);
      expect((await hammer.decide('t', 'm')).by).toBe('cached');
    });

    it('reports the tightest enforcing threshold and its room, as a brute-force oracle counts it', async () => {
      const threshold = fc.record({
        limit: fc.integer({ min: 0, max: 12 }),
        window: fc.integer({ min: 1, max: 120 }),
        action_duration: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
        shadow: fc.boolean(),
      });
      const step = fc.record({
        advanceMs: fc.oneof(
          { weight: 5, arbitrary: fc.integer({ min: 0, max: 3000 }) },
          { weight: 1, arbitrary: fc.integer({ min: 3000, max: 200_000 }) },
        ),
        token: fc.constantFrom('a', 'b'),
        metric: fc.constantFrom('x', 'y'),
        op: fc.oneof(
          { weight: 12, arbitrary: fc.constant('decide' as const) },
          { weight: 1, arbitrary: fc.constant('reset' as const) },
          { weight: 1, arbitrary: fc.constant('lift' as const) },
        ),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(threshold, { minLength: 1, maxLength: 3 }),
          fc.array(threshold, { minLength: 1, maxLength: 3 }),
          fc.array(step, { minLength: 1, maxLength: 120 }),
          async (xs: OracleThreshold[], ys: OracleThreshold[], steps) => {
            const config = (ts: OracleThreshold[]) => ({
              thresholds: ts.map(({ shadow, ...t }) => ({
                ...t,
                action: [],
                mode: shadow ? ('shadow' as const) : ('enforce' as const),
              })),
            });
            const { hammer, clock } = await setup(
              { x: config(xs), y: config(ys) },
              { quota: true },
            );
            const oracles: Record<string, Oracle> = { x: new Oracle(xs), y: new Oracle(ys) };
            const terms: Record<string, OracleThreshold[]> = { x: xs, y: ys };
            // The deny cache, modelled: filled by a decision that meets a ban, emptied by
            // reset and lift.
            const cached = new Map<string, number>();
            const banEnd = (token: string, now: number) =>
              Math.max(oracles.x!.banEnd(token, now), oracles.y!.banEnd(token, now));
            let now = START;
            for (const { advanceMs, token, metric, op } of steps) {
              now += advanceMs;
              clock.set(now);
              if (op === 'reset') {
                oracles[metric]!.reset(token);
                cached.delete(token);
                await hammer.reset(token, metric);
                continue;
              }
              if (op === 'lift') {
                oracles.x!.reset(token);
                oracles.y!.reset(token);
                cached.delete(token);
                await hammer.lift(token);
                continue;
              }
              const got = await hammer.decide(token, metric);
              if ((cached.get(token) ?? 0) > now) {
                expect(got).toMatchObject({
                  allowed: false,
                  by: 'cached',
                  retryAfterMs: cached.get(token)! - now,
                });
                continue;
              }
              const expected = oracles[metric]!.incr(token, now);
              const end = banEnd(token, now);
              if (end > now) cached.set(token, end);
              const quota = oracles[metric]!.quota(token, now);
              expect(got).toEqual({
                allowed: expected.passed && end === 0,
                by: 'counted',
                passed: expected.passed,
                retryAfterMs: end === 0 ? 0 : end - now,
                quota:
                  quota === undefined
                    ? undefined
                    : {
                        ...quota,
                        limit: terms[metric]![quota.threshold]!.limit,
                        windowSeconds: terms[metric]![quota.threshold]!.window,
                      },
                shadowed: [...expected.tripped, ...expected.blocking].some(
                  (i) => terms[metric]![i]!.shadow === true,
                ),
              });
            }
            await hammer.settled();
            await hammer.close();
          },
        ),
        { numRuns: options.propertyRuns ?? 150 },
      );
    });
  });
}
