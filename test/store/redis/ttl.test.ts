import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

const HOUR = 3_600_000;
/** The longest a key may live for a need of `ms`: its TTL is set a 60th beyond the need. */
const atMost = (ms: number) => ms + ms / 60;

describeWithRedis('RedisStore keys: every one expires, none outlives what it holds', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.port, '127.0.0.1');
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  async function keysWithTtl(pattern: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const keys of admin.scanStream({ match: pattern, count: 100 })) {
      for (const key of keys as string[]) out.set(key, await admin.pttl(key));
    }
    return out;
  }

  /** A BanHammer with one metric `m` of one threshold, on a store of its own key prefix. */
  function oneThreshold(
    prefix: string,
    limit: number,
    window: number,
    duration: number,
    clock?: () => number,
  ): { store: RedisStore; hammer: BanHammer } {
    const store = new RedisStore({ url: server.url, prefix, ...(clock ? { clock } : {}) });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit, window, action: [], action_duration: duration }] } },
      { store },
    );
    return { store, hammer };
  }

  // A :state key's TTL is set a 60th beyond what it needs, when what it has falls short; an
  // :events list's is refreshed at most once a second per pair (for these windows), one second
  // beyond what it needs.
  const SLACK = 1000;

  it('state keys live an hour, the longest window while they hold event times, or the longest ban in force', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'ttl:' });
    const hammer = new BanHammer(
      {
        short: { thresholds: [{ limit: 2, window: 120, action: [], action_duration: 30 }] },
        long: {
          thresholds: [
            { limit: 1, window: 30, action: [], action_duration: 60 },
            { limit: 2, window: 90, action: [], action_duration: 3 * 3600 },
          ],
        },
        day: { thresholds: [{ limit: 5, window: 86_400, action: [], action_duration: 1 }] },
      },
      { store },
    );
    for (let i = 0; i < 3; i++) {
      await hammer.incr('quiet', 'short');
      await hammer.incr('loud', 'long');
    }
    await hammer.incr('daily', 'day');
    await hammer.now('manual', 'long', 0);
    const keys = await keysWithTtl('ttl:*');
    // Few events per pair: their times are inline, no :events list. A token banned has its
    // :ban key.
    expect([...keys.keys()].sort()).toEqual([
      'ttl:{t:daily}:day:state',
      'ttl:{t:loud}:ban',
      'ttl:{t:loud}:long:state',
      'ttl:{t:manual}:ban',
      'ttl:{t:manual}:long:state',
      'ttl:{t:quiet}:ban',
      'ttl:{t:quiet}:short:state',
    ]);
    for (const ttl of keys.values()) expect(ttl).toBeGreaterThan(0);
    // Rates need an hour; 'quiet' is banned for 30 s only, its window is 2 minutes.
    expect(keys.get('ttl:{t:quiet}:short:state')).toBeLessThanOrEqual(atMost(HOUR));
    expect(keys.get('ttl:{t:quiet}:short:state')).toBeGreaterThan(HOUR - 60_000);
    // 'loud' is banned for 3 hours by its second threshold: its state lives that long.
    expect(keys.get('ttl:{t:loud}:long:state')).toBeGreaterThan(3 * HOUR - 60_000);
    expect(keys.get('ttl:{t:loud}:long:state')).toBeLessThanOrEqual(atMost(3 * HOUR));
    // An event time inside a day-long window is kept a day.
    expect(keys.get('ttl:{t:daily}:day:state')).toBeGreaterThan(24 * HOUR - 60_000);
    expect(keys.get('ttl:{t:daily}:day:state')).toBeLessThanOrEqual(atMost(24 * HOUR));
    // A manual ban alone lives as long as the ban.
    expect(keys.get('ttl:{t:manual}:long:state')).toBeLessThanOrEqual(atMost(60_000));
    // A token's :ban key lives exactly as long as its latest ban, no slack.
    expect(keys.get('ttl:{t:quiet}:ban')).toBeLessThanOrEqual(30_000);
    expect(keys.get('ttl:{t:quiet}:ban')).toBeGreaterThan(25_000);
    expect(keys.get('ttl:{t:loud}:ban')).toBeLessThanOrEqual(3 * HOUR);
    expect(keys.get('ttl:{t:loud}:ban')).toBeGreaterThan(3 * HOUR - 60_000);
    expect(keys.get('ttl:{t:manual}:ban')).toBeLessThanOrEqual(60_000);

    // reset() leaves nothing of the pair behind, nor of a token it banned alone.
    await hammer.reset('loud', 'long');
    expect([...(await keysWithTtl('ttl:{t:loud}*')).keys()]).toEqual([]);
    await hammer.close();
  });

  it('moves the event times of a busy pair to an :events list that lives the longest window', async () => {
    const { hammer } = oneThreshold('busy:', 1000, 120, 60);
    for (let i = 0; i < 100; i++) await hammer.incr('b', 'm');
    const keys = await keysWithTtl('busy:*');
    expect([...keys.keys()].sort()).toEqual(['busy:{t:b}:m:events', 'busy:{t:b}:m:state']);
    expect(keys.get('busy:{t:b}:m:events')).toBeGreaterThan(0);
    expect(keys.get('busy:{t:b}:m:events')).toBeLessThanOrEqual(120_000 + SLACK);
    expect(await admin.llen('busy:{t:b}:m:events')).toBe(100);
    // The state says where the times are: it lives at least as long as they do.
    expect(keys.get('busy:{t:b}:m:state')).toBeLessThanOrEqual(atMost(HOUR));
    expect(keys.get('busy:{t:b}:m:state')).toBeGreaterThan(HOUR - 60_000);
    await hammer.reset('b', 'm');
    expect([...(await keysWithTtl('busy:*')).keys()]).toEqual([]);
    await hammer.close();
  });

  it("rewrites a state key's TTL only when what it has left falls short of what it needs", async () => {
    let now = Date.UTC(2026, 0, 1);
    const { hammer } = oneThreshold('keep:', 100, 60, 60, () => now);
    const key = 'keep:{t:k}:m:state';
    await hammer.incr('k', 'm');
    expect(await admin.pttl(key)).toBeGreaterThan(HOUR);
    // A TTL no write of this store would set: kept by a write that needs no more than the
    // recorded expiry (an hour and a minute from the first event) ...
    await admin.pexpire(key, 5 * HOUR);
    now += 30_000;
    await hammer.incr('k', 'm');
    expect(await admin.pttl(key)).toBeGreaterThan(5 * HOUR - 60_000);
    // ... and rewritten by one that needs more (an hour from an event 2 minutes later).
    now += 90_000;
    await hammer.incr('k', 'm');
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(HOUR);
    expect(ttl).toBeLessThanOrEqual(atMost(HOUR));
    expect(await hammer.status('k', 'm')).toMatchObject({ token_rate_60m: 3 });
    await hammer.close();
  });

  it('writes each pair only its own state, whatever the same call decided before it', async () => {
    const { store, hammer } = oneThreshold('own:', 50, 600, 60);
    await hammer.incr('alone', 'm');
    // One call: a pair with 40 event times kept inline, then a pair seen for the first time.
    await Promise.all([
      ...Array.from({ length: 40 }, () => hammer.incr('busy', 'm')),
      hammer.incr('fresh', 'm'),
    ]);
    expect(store.metrics().script_calls).toBe(2);
    const alone = await admin.strlen('own:{t:alone}:m:state');
    expect(await admin.strlen('own:{t:busy}:m:state')).toBeGreaterThan(alone + 30);
    expect(await admin.strlen('own:{t:fresh}:m:state')).toBe(alone);
    await hammer.close();
  });

  it('lets Redis drop a token: the state after the rate hour', async () => {
    const { hammer } = oneThreshold('gone:', 0, 1, 1);
    await hammer.incr('t', 'm');
    const keys = await keysWithTtl('gone:*');
    expect([...keys.keys()].sort()).toEqual(['gone:{t:t}:ban', 'gone:{t:t}:m:state']);
    // Its 1 s ban's key lives 1 s.
    expect(keys.get('gone:{t:t}:ban')).toBeLessThanOrEqual(1000);
    // The state keeps the rates for the hour, no longer.
    expect(keys.get('gone:{t:t}:m:state')).toBeLessThanOrEqual(atMost(HOUR));
    // Expired by Redis (made short here: an hour cannot be waited for), the pair is gone.
    await admin.pexpire('gone:{t:t}:m:state', 20);
    for (let i = 0; i < 200 && (await admin.exists('gone:{t:t}:m:state')) === 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await admin.exists('gone:{t:t}:m:state')).toBe(0);
    expect(await hammer.status('t', 'm')).toMatchObject({ token_rate_60m: 0, bans: [] });
    await hammer.close();
  });
});
