import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import {
  banKeyOf,
  eventsKeyOf,
  KEY_LAYOUT_LUA,
  stateKeyOf,
  stateTailBytes,
} from '../../../src/store/redis/keys.js';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

/*
 * The key layout has one definition (src/store/redis/keys.ts); decide.lua's `events_key` and
 * `ban_key` are generated from it. These fail if the TypeScript and the Lua ever name a pair's keys apart.
 */
describeWithRedis('RedisStore key layout: one definition for TypeScript and Lua', () => {
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

  it("the scripts' events_key is eventsKeyOf, for tokens and metrics that look like suffixes", async () => {
    const names = ['a', ':state', ':events', 'x}:state', 'é∂', '', 'state:state'];
    for (const token of names) {
      for (const metric of ['m', 'state', ':events']) {
        const state = stateKeyOf('p:', token, metric);
        const lua = `${KEY_LAYOUT_LUA}\nreturn events_key(KEYS[1])`;
        expect(await admin.eval(lua, 1, state), `${token} / ${metric}`).toBe(eventsKeyOf(state));
      }
    }
  });

  it("the scripts' ban_key is banKeyOf, whatever the token and the metric hold", async () => {
    const names = ['a', ':state', ':ban', 'x}:ban', '}{t:', 'é∂', '', 'state:state'];
    for (const token of names) {
      for (const metric of ['m', 'ban', ':ban', 'é}:x', '']) {
        const state = stateKeyOf('p:', token, metric);
        const lua = `${KEY_LAYOUT_LUA}\nreturn ban_key(KEYS[1], tonumber(ARGV[1]))`;
        const got = await admin.eval(lua, 1, state, String(stateTailBytes(metric)));
        expect(got, `${token} / ${metric}`).toBe(banKeyOf('p:', token));
        // Never another key of any pair.
        expect(got).not.toBe(state);
        expect(got).not.toBe(eventsKeyOf(state));
      }
    }
  });

  it('a pair past the inline event times keeps its :events list where the TypeScript says, and reset deletes it', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'layout:' });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 500, window: 60, action: [], action_duration: 1 }] } },
      { store },
    );
    const token = 'tok:state';
    await Promise.all(Array.from({ length: 200 }, () => hammer.incr(token, 'm')));
    const state = stateKeyOf('layout:', token, 'm');
    const keys = (await admin.keys('layout:*')).sort();
    expect(keys).toEqual([eventsKeyOf(state), state].sort());
    expect(await admin.type(eventsKeyOf(state))).toBe('list');
    await hammer.reset(token, 'm');
    expect(await admin.keys('layout:*')).toEqual([]);
    await hammer.close();
  });
});
