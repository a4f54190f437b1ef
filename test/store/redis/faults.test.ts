import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import {
  type RedisFailurePolicy,
  RedisStore,
  type StoreErrorEvent,
} from '../../../src/store/redis/redis-store.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

const BANS = {
  login: { thresholds: [{ limit: 20, window: 3600, action: [], action_duration: 3600 }] },
};

/** `count` events of `token`, `inFlight` at a time; every answer, in order of completion. */
async function load(hammer: BanHammer, token: string, count: number, inFlight = 10) {
  const answers: boolean[] = [];
  let started = 0;
  const loop = async () => {
    while (started < count) {
      started++;
      answers.push(await hammer.incr(token, 'login'));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  return answers;
}

/** Polls (with events) until a decision is made by Redis again. */
async function untilRedisDecides(store: RedisStore, hammer: BanHammer, token: string) {
  for (let attempt = 0; attempt < 400; attempt++) {
    const before = store.metrics().decisions;
    await hammer.incr(token, 'login');
    if (store.metrics().decisions > before) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('Redis never came back');
}

describeWithRedis('RedisStore faults: Redis stopped mid-load and started again', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const cases: [RedisFailurePolicy, (answers: boolean[]) => void][] = [
    // Pass everything while Redis is away.
    ['failOpen', (answers) => expect(answers.every(Boolean)).toBe(true)],
    // Refuse everything while Redis is away.
    ['failClosed', (answers) => expect(answers.some(Boolean)).toBe(false)],
    // Decide locally: this process's own 20 pass, then its local threshold trips.
    ['fallback', (answers) => expect(answers.filter(Boolean)).toHaveLength(20)],
  ];

  for (const [policy, duringOutage] of cases) {
    it(`${policy}: no throw, no hang, the policy's answers, Redis's counts after`, async () => {
      const store = new RedisStore({ url: server.url, prefix: `${policy}:`, onFailure: policy });
      const errors: StoreErrorEvent[] = [];
      store.on('store_error', (event) => errors.push(event));
      const hammer = new BanHammer(BANS, { store });
      const token = `198.51.100.${policy.length}`;

      // Before: 10 events in Redis.
      expect(await load(hammer, token, 10)).toEqual(Array(10).fill(true));

      // Redis goes away in the middle of a load (keeping its data, as a restart with
      // persistence would); every call still resolves.
      const during = load(hammer, 'mid-load', 200, 20);
      await server.halt({ save: true });
      const midLoad = await during;
      expect(midLoad).toHaveLength(200);

      const outage = await load(hammer, token, 30);
      duringOutage(outage);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => e.error.code === 'HITWARDEN_STORE')).toBe(true);
      expect(store.metrics().policy_decisions).toBeGreaterThanOrEqual(30);
      await expect(hammer.status(token, 'login')).rejects.toThrow(/Redis status failed/);

      // Back: decisions come from Redis again without any help.
      await server.resume();
      await untilRedisDecides(store, hammer, 'probe');

      // Redis holds what it was told: the 10 events before the outage, none of the 30 during
      // it (those were this process's own, in its local store, or not counted at all).
      const status = await hammer.status(token, 'login');
      expect(status.token_rate_60m).toBe(10);
      expect(status.bans).toEqual([]);
      expect(await load(hammer, token, 15)).toEqual([
        ...Array(10).fill(true),
        ...Array(5).fill(false),
      ]);
      await hammer.close();
    });
  }

  it('survives SCRIPT FLUSH in the middle of a load: every decision still made by Redis', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'flush:' });
    const hammer = new BanHammer(
      { login: { thresholds: [{ limit: 1000, window: 3600, action: [], action_duration: 60 }] } },
      { store },
    );
    const admin = new Redis(server.port, '127.0.0.1');
    const stats = async () => {
      const info = await admin.info('commandstats');
      const calls = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return { evalsha: calls('evalsha'), eval: calls('eval') };
    };
    await admin.script('FLUSH');
    await admin.config('RESETSTAT');
    await load(hammer, 'x', 50, 5);
    // Loaded once: the first call was EVAL after a NOSCRIPT, every later one EVALSHA.
    const warm = await stats();
    expect(warm.eval).toBe(1);
    expect(warm.evalsha).toBeGreaterThanOrEqual(store.metrics().script_calls - 1);
    expect(warm.evalsha).toBeLessThanOrEqual(store.metrics().script_calls);

    const running = load(hammer, 'x', 400, 20);
    await admin.script('FLUSH');
    await running;
    await load(hammer, 'x', 50, 5);
    expect(store.metrics().store_errors).toBe(0);
    expect(store.metrics().policy_decisions).toBe(0);
    expect((await hammer.status('x', 'login')).token_rate_60m).toBe(500);
    expect((await stats()).eval).toBeGreaterThanOrEqual(2);
    admin.disconnect();
    await hammer.close();
  });

  it('bounds a call to Redis that hangs (a paused server) by timeoutMs', async () => {
    const store = new RedisStore({
      url: server.url,
      prefix: 'hang:',
      onFailure: 'failClosed',
      // Well under the pause, with room for a loaded machine on the call before it.
      timeoutMs: 700,
    });
    const hammer = new BanHammer(BANS, { store });
    expect(await hammer.incr('h', 'login')).toBe(true);
    const admin = new Redis(server.port, '127.0.0.1');
    // CLIENT PAUSE holds every other client's commands: Redis is up but silent.
    await admin.client('PAUSE', 1500, 'ALL');
    expect(await hammer.incr('h', 'login')).toBe(false);
    expect(store.metrics().policy_decisions).toBe(1);
    admin.disconnect();
    await untilRedisDecides(store, hammer, 'h');
    await hammer.close();
  });
});
