import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ManualClock } from '../../src/time/manual-clock.js';

function setup(returnRates: boolean) {
  const calls: string[] = [];
  const action: Action = (token) => {
    calls.push(token);
  };
  const clock = new ManualClock(0);
  const hammer = new BanHammer(
    { m: { thresholds: [{ limit: 1, window: 60, action: [action], action_duration: 60 }] } },
    {
      clock: clock.now,
      returnRates,
      allowList: ['10.0.0.0/8', '2001:db8::/32'],
      denyList: ['192.0.2.0/24', '2001:dead::/32', '10.66.0.0/16'],
    },
  );
  return { hammer, calls };
}

describe('allow- and deny-lists', () => {
  it('lets allow-listed tokens always pass without counting them', async () => {
    const { hammer, calls } = setup(false);
    for (const token of ['10.1.2.3', '::ffff:10.1.2.3', '2001:db8::1']) {
      for (let i = 0; i < 5; i++) expect(await hammer.incr(token, 'm')).toBe(true);
      expect((await hammer.status(token, 'm')).token_rate_1m).toBe(0);
    }
    // The allow-list wins over an overlapping deny range.
    expect(await hammer.incr('10.66.1.1', 'm')).toBe(true);
    await hammer.settled();
    expect(calls).toEqual([]);
    expect(hammer.counters.allow_listed).toBe(16);
  });

  it('refuses deny-listed tokens from the first event, without counting or actions', async () => {
    const { hammer, calls } = setup(false);
    for (const token of ['192.0.2.1', '::ffff:192.0.2.200', '2001:dead::1']) {
      expect(await hammer.incr(token, 'm')).toBe(false);
      expect((await hammer.status(token, 'm')).token_rate_1m).toBe(0);
    }
    await hammer.settled();
    expect(calls).toEqual([]);
    expect(hammer.counters.deny_listed).toBe(3);
  });

  it('treats other tokens, including non-addresses, normally', async () => {
    const { hammer, calls } = setup(false);
    for (const token of ['203.0.113.1', 'alice', '2001:db9::1']) {
      expect(await hammer.incr(token, 'm')).toBe(true);
      expect(await hammer.incr(token, 'm')).toBe(false);
    }
    await hammer.settled();
    expect(calls).toEqual(['203.0.113.1', 'alice', '2001:db9::1']);
  });

  it('answers listed tokens with their (unchanged) rates when returnRates is on', async () => {
    const { hammer } = setup(true);
    expect(await hammer.incr('10.0.0.1', 'm')).toEqual([
      true,
      { token_rate_1m: 0, token_rate_10m: 0, token_rate_60m: 0 },
    ]);
    expect(await hammer.incr('192.0.2.9', 'm')).toEqual([
      false,
      { token_rate_1m: 0, token_rate_10m: 0, token_rate_60m: 0 },
    ]);
  });
});
