/*
 * Issue 13: timeouts past 2^31 − 1 ms (`actionTimeoutMs`, an action's `timeoutMs`,
 * reportCentral's budget of attempts and backoff) overflow Node's timers, which then fire
 * after about 1 ms: every action "timed out". They are refused at setup.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { reportCentral } from '../../src/banhammer/actions/report-central.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError } from '../../src/errors.js';
import { MAX_TIMEOUT_MS } from '../../src/options.js';
import { trippingHammer, turns } from './actions-support.js';

const bans = { m: { thresholds: [{ limit: 0, window: 60, action: [], action_duration: 60 }] } };
const url = 'http://127.0.0.1:9/report';

function configError(make: () => unknown): ConfigError {
  try {
    make();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('timeouts a Node timer cannot wait', () => {
  it('actionTimeoutMs past 2^31 − 1 is refused (the reproduction)', () => {
    for (const actionTimeoutMs of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const error = configError(() => new BanHammer(bans, { actionTimeoutMs }));
      expect(error.path).toBe('BanHammer.actionTimeoutMs');
      expect(error.message).toContain(String(MAX_TIMEOUT_MS));
    }
  });

  it("an action's own timeoutMs past it is refused, naming the action", () => {
    const action = Object.assign(() => {}, { timeoutMs: 2 ** 31 });
    const error = configError(() => trippingHammer([action]));
    expect(error.path).toBe('bans.m.thresholds[0].action[0].timeoutMs');
  });

  it('the longest timeout there is, 2^31 − 1, is honoured: an action that takes a few turns does not time out', async () => {
    const slow: Action = async () => {
      await turns(3);
    };
    const own = Object.assign(async () => turns(3), { timeoutMs: MAX_TIMEOUT_MS });
    const { hammer, errors } = trippingHammer([slow, own], { actionTimeoutMs: MAX_TIMEOUT_MS });
    await hammer.incr('a', 'm');
    await hammer.settled();
    expect(errors).toEqual([]);
    expect(hammer.counters).toMatchObject({ actions_run: 2, action_timeouts: 0 });
  });

  it("reportCentral refuses retries × backoff that overflow a timer, and says so (the issue's budget)", () => {
    // 20 retries with a backoff of an hour: the last wait alone is 2^19 hours.
    const error = configError(() => reportCentral({ url, retries: 20, backoffMs: 3_600_000 }));
    expect(error.path).toBe('reportCentral');
    expect(error.message).toContain('more than 2147483647 ms');
    expect(error.message).toContain('20 retries');
    // A budget just under the limit is taken, and is the action's timeout.
    expect(reportCentral({ url, retries: 20, backoffMs: 2000, timeoutMs: 1 }).timeoutMs).toBe(
      1000 + 21 * 1 + 2000 * (2 ** 20 - 1),
    );
    expect(() => reportCentral({ url, retries: 20, backoffMs: 2100, timeoutMs: 1 })).toThrow(
      ConfigError,
    );
    expect(configError(() => reportCentral({ url, timeoutMs: 2 ** 31 })).path).toBe(
      'reportCentral.timeoutMs',
    );
  });

  it('reportCentral: every timeoutMs, retries and backoffMs gives a ConfigError or a budget that a timer can wait', () => {
    const anyCount = fc.oneof(
      fc.integer({ min: -2, max: 30 }),
      fc.integer({ min: 0, max: 2 ** 33 }),
      // Backoffs that each look reasonable but overflow once doubled through many retries.
      fc.integer({ min: 1_000_000, max: 3_600_000 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 0.5, 2 ** 31 - 1, 2 ** 31),
    );
    fc.assert(
      fc.property(anyCount, anyCount, anyCount, (timeoutMs, retries, backoffMs) => {
        let action: Action;
        try {
          action = reportCentral({ url, timeoutMs, retries, backoffMs });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return;
        }
        // The oracle: a second for fetch, then every attempt and the wait before each retry.
        let budget = 1000;
        for (let attempt = 0; attempt <= retries; attempt++) {
          budget += timeoutMs + (attempt === 0 ? 0 : backoffMs * 2 ** (attempt - 1));
        }
        expect(action.timeoutMs).toBe(budget);
        expect(action.timeoutMs).toBeLessThanOrEqual(MAX_TIMEOUT_MS);
        expect(Number.isInteger(timeoutMs) && timeoutMs >= 1).toBe(true);
        expect(Number.isInteger(retries) && retries >= 0 && retries <= 20).toBe(true);
        expect(Number.isInteger(backoffMs) && backoffMs >= 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
