import { describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { compileBans, MAX_LIMIT, MAX_THRESHOLDS } from '../../src/banhammer/config.js';
import { ConfigError } from '../../src/errors.js';
import { ManualClock } from '../../src/time/manual-clock.js';

const ok = { limit: 10, window: 3600, action: [], action_duration: 3600 };

/** The ConfigError that `bans` raises. */
function configError(bans: unknown): ConfigError {
  try {
    compileBans(bans as never);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('bans configuration', () => {
  it('compiles a valid configuration, keeping declaration order', () => {
    const action = () => {};
    const compiled = compileBans({
      login_failed: {
        thresholds: [ok, { ...ok, limit: 100, action: [action], action_duration: 86400 }],
      },
      login_successful: { thresholds: [{ ...ok, window: 60 }] },
    });
    expect(compiled.metrics.map((m) => m.name)).toEqual(['login_failed', 'login_successful']);
    expect(compiled.metrics[0]!.thresholds[1]).toEqual({
      limit: 100,
      windowSeconds: 3600,
      durationSeconds: 86400,
      shadow: false,
      actions: [
        {
          run: action,
          name: 'action',
          timeoutMs: undefined,
          metric: 'login_failed',
          threshold: 1,
          limit: 100,
          windowSeconds: 3600,
          durationSeconds: 86400,
        },
      ],
    });
    expect(compiled.indexOf.get('login_successful')).toBe(1);
  });

  it.each([
    [
      { login_failed: { thresholds: [ok, { ...ok, limit: -1 }] } },
      'bans.login_failed.thresholds[1].limit',
      'at least 0',
    ],
    [
      { login_failed: { thresholds: [ok, { ...ok, limit: 1.5 }] } },
      'bans.login_failed.thresholds[1].limit',
      'integer',
    ],
    [
      { login_failed: { thresholds: [{ ...ok, limit: Number.NaN }] } },
      'bans.login_failed.thresholds[0].limit',
      'number',
    ],
    [
      { m: { thresholds: [{ ...ok, limit: MAX_LIMIT + 1 }] } },
      'bans.m.thresholds[0].limit',
      `at most ${MAX_LIMIT}`,
    ],
    [{ m: { thresholds: [{ ...ok, limit: '10' }] } }, 'bans.m.thresholds[0].limit', 'number'],
    [{ m: { thresholds: [{ ...ok, window: 0 }] } }, 'bans.m.thresholds[0].window', 'more than 0'],
    [{ m: { thresholds: [{ ...ok, window: -5 }] } }, 'bans.m.thresholds[0].window', 'more than 0'],
    [
      { m: { thresholds: [{ ...ok, window: Number.POSITIVE_INFINITY }] } },
      'bans.m.thresholds[0].window',
      'seconds',
    ],
    [
      { m: { thresholds: [{ ...ok, action_duration: -1 }] } },
      'bans.m.thresholds[0].action_duration',
      'at least 0',
    ],
    [
      { m: { thresholds: [{ ...ok, action_duration: Number.NaN }] } },
      'bans.m.thresholds[0].action_duration',
      'seconds',
    ],
    [
      { m: { thresholds: [{ ...ok, action: ['blockLocal'] }] } },
      'bans.m.thresholds[0].action[0]',
      'function',
    ],
    [{ m: { thresholds: [{ ...ok, action: () => {} }] } }, 'bans.m.thresholds[0].action', 'array'],
    [
      { m: { thresholds: [{ ...ok, actionDuration: 5 }] } },
      'bans.m.thresholds[0]',
      'actionDuration',
    ],
    [
      { m: { thresholds: [{ limit: 1, window: 1, action: [] }] } },
      'bans.m.thresholds[0].action_duration',
      'seconds',
    ],
    [{ m: { thresholds: [] } }, 'bans.m.thresholds', 'at least one'],
    [{ m: { thresholds: 'x' } }, 'bans.m.thresholds', 'array'],
    [{ m: null }, 'bans.m', 'object'],
    [
      { 'my metric': { thresholds: [{ ...ok, limit: -1 }] } },
      'bans["my metric"].thresholds[0].limit',
      'at least 0',
    ],
    [{ '': { thresholds: [ok] } }, 'bans[""]', 'empty'],
    [{}, 'bans', 'at least one metric'],
    [[], 'bans', 'object'],
    [null, 'bans', 'object'],
  ])('rejects %j at %s', (bans, path, rule) => {
    const error = configError(bans);
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain(rule);
  });

  it('says how many other problems there are', () => {
    const error = configError({
      m: { thresholds: [{ limit: -1, window: -1, action: [], action_duration: -1 }] },
    });
    expect(error.message).toMatch(/and 2 more problems/);
  });

  it('accepts a Map, whose metric names may be anything', () => {
    const compiled = compileBans(new Map([['__proto__', { thresholds: [ok] }]]));
    expect(compiled.metrics[0]!.name).toBe('__proto__');
    expect(() => compileBans(new Map([[1 as unknown as string, { thresholds: [ok] }]]))).toThrow(
      ConfigError,
    );
  });

  it(`handles thousands of thresholds and refuses more than ${MAX_THRESHOLDS}`, async () => {
    const clock = new ManualClock(0);
    // Threshold i trips at more than i + 1 events.
    const thresholds = Array.from({ length: 5000 }, (_, i) => ({ ...ok, limit: i + 1 }));
    const hammer = new BanHammer({ m: { thresholds } }, { clock: clock.now });
    const tripped: number[] = [];
    hammer.on('tripped', (event) => tripped.push(event.threshold));
    expect(await hammer.incr('t', 'm')).toBe(true);
    expect(await hammer.incr('t', 'm')).toBe(false);
    expect(await hammer.incr('t', 'm')).toBe(false);
    await hammer.settled();
    expect(tripped).toEqual([0, 1]);
    expect((await hammer.status('t', 'm')).bans.map((ban) => ban.threshold)).toEqual([0, 1]);
    const tooMany = Array.from({ length: MAX_THRESHOLDS + 1 }, () => ok);
    expect(configError({ m: { thresholds: tooMany } }).path).toBe('bans.m.thresholds');
  });

  it('validates BanHammer options with the same kind of error', () => {
    const bans = { m: { thresholds: [ok] } };
    expect(() => new BanHammer(bans, { actionTimeoutMs: 0 })).toThrow('BanHammer.actionTimeoutMs');
    expect(() => new BanHammer(bans, { maxPendingActions: 1.5 })).toThrow(
      'BanHammer.maxPendingActions',
    );
    expect(() => new BanHammer(bans, { returnRates: 'yes' as unknown as boolean })).toThrow(
      'BanHammer.returnRates',
    );
    expect(() => new BanHammer(bans, { clock: 5 as unknown as () => number })).toThrow(
      'BanHammer.clock',
    );
    expect(() => new BanHammer(bans, { allowList: ['10.0.0.0/33'] })).toThrow('allowList[0]');
    expect(() => new BanHammer(bans, { store: {} as never })).toThrow('BanHammer.store');
    expect(() => new BanHammer(bans, { denyList: ['10.0.0.0/8', 'nope'] })).toThrow('denyList[1]');
  });
});
