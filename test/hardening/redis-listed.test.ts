import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { StoreError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { Store } from '../../src/store/store.js';
import { RedisServer } from '../support/redis-server.js';
import { describeWithRedis } from '../support/redis-suite.js';

/*
 * Issue 13, item 4: with an allow or deny list and `returnRates: true`, a listed token's
 * decision is made without the store, but its rates were read from the store, and a store
 * that failed made `incr` reject. Nothing may throw to `incr`'s caller: a listed token's
 * decision stands and, when the store cannot say, its rates are zeros (it is never counted).
 */

const BANS = {
  login: { thresholds: [{ limit: 3, window: 60, action: [], action_duration: 60 }] },
};
const LISTS = { allowList: ['10.0.0.0/8'], denyList: ['192.0.2.0/24'] };
const ZEROS = { token_rate_1m: 0, token_rate_10m: 0, token_rate_60m: 0 };

describeWithRedis('listed tokens while Redis hangs or is gone', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    server.thaw();
    await server.resume();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const outages = [
    ['hangs (SIGSTOP)', () => server.freeze()],
    ['is gone', () => server.halt()],
  ] as const;

  for (const [what, outage] of outages) {
    it(`Redis ${what}: incr and incrMany of listed tokens resolve with zero rates`, async () => {
      const store = new RedisStore({ url: server.url, prefix: `l${what.length}:`, timeoutMs: 200 });
      const errors: string[] = [];
      store.on('store_error', ({ operation }) => errors.push(operation));
      const hammer = new BanHammer(BANS, { store, returnRates: true, ...LISTS });
      // A listed token's rates come from the store while it answers (here: never counted).
      await hammer.incr('198.51.100.1', 'login');
      expect(await hammer.incr('10.1.2.3', 'login')).toEqual([true, ZEROS]);
      await outage();
      expect(await hammer.incr('10.1.2.3', 'login')).toEqual([true, ZEROS]);
      expect(await hammer.incr('192.0.2.9', 'login')).toEqual([false, ZEROS]);
      const many = await hammer.incrMany(['10.9.9.9', '192.0.2.1', '198.51.100.1'], 'login');
      expect(many.map(([passed]) => passed)).toEqual([true, false, true]);
      expect(many[0]![1]).toEqual(ZEROS);
      expect(many[1]![1]).toEqual(ZEROS);
      expect(hammer.counters).toMatchObject({ allow_listed: 3, deny_listed: 2 });
      // The store said what failed.
      expect(errors).toContain('status');
      await hammer.close();
    });
  }
});

describe('listed tokens over a store whose status() fails', () => {
  /** A memory store whose status() always rejects, as any store's may. */
  function failingStatus(): Store {
    const store = new MemoryStore();
    store.status = () => Promise.reject(new StoreError('status is down'));
    return store;
  }

  it('allow- and deny-listed decisions resolve; unlisted ones are decided as usual', async () => {
    const hammer = new BanHammer(BANS, { store: failingStatus(), returnRates: true, ...LISTS });
    expect(await hammer.incr('10.0.0.1', 'login')).toEqual([true, ZEROS]);
    expect(await hammer.incr('192.0.2.200', 'login')).toEqual([false, ZEROS]);
    const [passed, stats] = await hammer.incr('203.0.113.4', 'login');
    expect(passed).toBe(true);
    expect(stats.token_rate_1m).toBe(1);
    // The admin call itself still tells the operator.
    await expect(hammer.status('10.0.0.1', 'login')).rejects.toBeInstanceOf(StoreError);
    await hammer.close();
  });
});
