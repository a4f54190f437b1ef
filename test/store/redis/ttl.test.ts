import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

const HOUR = 3_600_000;

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

  // Every TTL is refreshed at most once a second per pair, one second beyond what it needs.
  const SLACK = 1000;

  it('log keys live the longest window; state keys an hour, or the longest ban in force', async () => {
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
      },
      { store },
    );
    for (let i = 0; i < 3; i++) {
      await hammer.incr('quiet', 'short');
      await hammer.incr('loud', 'long');
    }
    await hammer.now('manual', 'long', 0);
    const keys = await keysWithTtl('ttl:*');
    expect([...keys.keys()].sort()).toEqual([
      'ttl:{t:loud}:long:log',
      'ttl:{t:loud}:long:st',
      'ttl:{t:manual}:long:st',
      'ttl:{t:quiet}:short:log',
      'ttl:{t:quiet}:short:st',
    ]);
    for (const ttl of keys.values()) expect(ttl).toBeGreaterThan(0);
    expect(keys.get('ttl:{t:quiet}:short:log')).toBeLessThanOrEqual(120_000 + SLACK);
    expect(keys.get('ttl:{t:loud}:long:log')).toBeLessThanOrEqual(90_000 + SLACK);
    // Rates need an hour; 'quiet' is banned for 30 s only.
    expect(keys.get('ttl:{t:quiet}:short:st')).toBeLessThanOrEqual(HOUR + SLACK);
    expect(keys.get('ttl:{t:quiet}:short:st')).toBeGreaterThan(HOUR - 60_000);
    // 'loud' is banned for 3 hours by its second threshold: its state lives that long.
    expect(keys.get('ttl:{t:loud}:long:st')).toBeGreaterThan(3 * HOUR - 60_000);
    expect(keys.get('ttl:{t:loud}:long:st')).toBeLessThanOrEqual(3 * HOUR + SLACK);
    // A manual ban alone lives as long as the ban.
    expect(keys.get('ttl:{t:manual}:long:st')).toBeLessThanOrEqual(60_000);

    // reset() leaves nothing of the pair behind.
    await hammer.reset('loud', 'long');
    expect([...(await keysWithTtl('ttl:{t:loud}*')).keys()]).toEqual([]);
    await hammer.close();
  });

  it('lets Redis drop a token: the log when its window ends, the state after the rate hour', async () => {
    // A 1 s window and a 1 s ban: short enough to watch the log go.
    const store = new RedisStore({ url: server.url, prefix: 'gone:' });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 0, window: 1, action: [], action_duration: 1 }] } },
      { store },
    );
    await hammer.incr('t', 'm');
    const keys = await keysWithTtl('gone:*');
    expect(keys.size).toBe(2);
    // The log goes with the window; the state hash keeps the rates for the hour, no longer.
    expect(keys.get('gone:{t:t}:m:log')).toBeLessThanOrEqual(1000 + SLACK);
    expect(keys.get('gone:{t:t}:m:st')).toBeLessThanOrEqual(HOUR + SLACK);
    // Redis itself drops it (polled, not slept on: no decision waits for this).
    for (let i = 0; i < 200 && (await admin.exists('gone:{t:t}:m:log')) === 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await admin.exists('gone:{t:t}:m:log')).toBe(0);
    expect((await hammer.status('t', 'm')).bans).toEqual([]);
    await hammer.close();
  });
});
