import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError } from '../../src/errors.js';
import { RedisFleetTopStore } from '../../src/store/redis/fleet-top-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { FleetSync, type FleetTopStore } from '../../src/tracker/fleet-sync.js';
import { IpTracker } from '../../src/tracker/ip-tracker.js';
import { RedisServer } from '../support/redis-server.js';
import { describeWithRedis } from '../support/redis-suite.js';

/*
 * Issue 13, item 2: every option of RedisStore, RedisFleetTopStore and FleetSync is read by
 * src/options.ts: a value of the wrong type, not finite, fractional where a count is meant or
 * out of range (a timeout past 2^31 − 1 ms overflows Node's timers and fires after ~1 ms) is
 * refused at setup with a ConfigError naming `Component.option`. The stores here get a client
 * that never connects (lazyConnect): setup alone is under test.
 */

const MAX_TIMEOUT = 2 ** 31 - 1;
const idle = new Redis({ lazyConnect: true });
const store: FleetTopStore = { add: async () => {}, top: async () => [], close: async () => {} };

type Make = (option: string, value: unknown) => unknown;

const makers: Record<string, Make> = {
  RedisStore: (option, value) => new RedisStore({ client: idle, [option]: value }),
  RedisFleetTopStore: (option, value) => new RedisFleetTopStore({ client: idle, [option]: value }),
  FleetSync: (option, value) => new FleetSync(new IpTracker(), { store, [option]: value }),
};

/** Per option: values that must be refused, and values that must be taken. */
const cases: [component: string, option: string, bad: unknown[], good: unknown[]][] = [
  [
    'RedisStore',
    'timeoutMs',
    [2 ** 31, 2 ** 31 + 1, 1e10, Infinity, NaN, 0, -1, 1.5, '500', null, true],
    [1, 500, MAX_TIMEOUT],
  ],
  ['RedisStore', 'maxBatch', [0, -1, 1.5, NaN, Infinity, '512', null], [1, 512, 100_000]],
  ['RedisStore', 'scanCount', [0, -3, 0.5, NaN, '1000', {}], [1, 1000]],
  ['RedisStore', 'prefix', ['a{b', 'x}', 7, null, {}], ['', 'app:', 'é:']],
  [
    'RedisStore',
    'onFailure',
    ['open', 'FAILOPEN', 1, null],
    ['failOpen', 'failClosed', 'fallback'],
  ],
  ['RedisStore', 'clock', [5, 'Date.now', {}, null], [() => 0, Date.now]],
  ['RedisFleetTopStore', 'timeoutMs', [2 ** 31, 1e12, 0, -5, 2.5, NaN, '5000'], [1, MAX_TIMEOUT]],
  ['RedisFleetTopStore', 'shards', [0, 16_385, 1.5, NaN, '2'], [1, 16_384]],
  ['RedisFleetTopStore', 'chunkSize', [0, 100_001, 0.5, Infinity], [1, 100_000]],
  ['RedisFleetTopStore', 'retryWindowSeconds', [0, 1.5, -1, 2 ** 33, NaN], [1, 3600]],
  ['RedisFleetTopStore', 'prefix', ['{', 'a}b', 3], ['fleet:', '']],
  [
    'FleetSync',
    'intervalSeconds',
    // Past (2^31 − 1) / 1000 s, setInterval would flush every millisecond.
    [2 ** 31 / 1000, 1e9, 0, -1, NaN, Infinity, '5'],
    [0.001, 5, MAX_TIMEOUT / 1000],
  ],
  ['FleetSync', 'timeoutMs', [2 ** 31, 0, 1.5, NaN, '100'], [1, MAX_TIMEOUT]],
  ['FleetSync', 'periodSeconds', [0, -86_400, NaN, Infinity, 1e10, '86400'], [1, 86_400, 1e9]],
  ['FleetSync', 'offsetSeconds', [NaN, Infinity, -Infinity, 1e10, '3600'], [0, -3600, 1e9]],
  ['FleetSync', 'maxPendingBatches', [0, 1.5, -1, NaN, '720'], [1, 720]],
  ['FleetSync', 'clock', [1, 'now', {}], [() => 0]],
  ['FleetSync', 'onError', [1, 'log', {}], [() => {}]],
];

describe('Redis package options are refused at setup with Component.option', () => {
  afterAll(() => idle.disconnect());

  it('refuses every bad value (property over the cases)', () => {
    const bad = cases.flatMap(([component, option, values]) =>
      values.map((value) => ({ component, option, value })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...bad), ({ component, option, value }) => {
        let thrown: unknown;
        try {
          makers[component]!(option, value);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).path).toBe(`${component}.${option}`);
      }),
      { numRuns: bad.length * 3 },
    );
  });

  it('takes every good value, the bounds included', () => {
    for (const [component, option, , values] of cases) {
      for (const value of values) {
        const made = makers[component]!(option, value);
        expect(made, `${component}.${option} = ${String(value)}`).toBeDefined();
        if (made instanceof FleetSync) void made.close();
      }
    }
  });

  it('refuses a store without url or client, a non-object, and a FleetSync store without add()', () => {
    expect(() => new RedisStore({} as never)).toThrow(
      expect.objectContaining({ path: 'RedisStore.url' }),
    );
    expect(() => new RedisStore({ url: 6379 } as never)).toThrow(
      expect.objectContaining({ path: 'RedisStore.url' }),
    );
    expect(() => new RedisFleetTopStore({ client: 'redis://x' } as never)).toThrow(
      expect.objectContaining({ path: 'RedisFleetTopStore.client' }),
    );
    expect(() => new RedisStore(null as never)).toThrow(
      expect.objectContaining({ path: 'RedisStore' }),
    );
    expect(() => new FleetSync(new IpTracker(), { store: {} as never })).toThrow(
      expect.objectContaining({ path: 'FleetSync.store' }),
    );
    expect(() => new FleetSync(new IpTracker(), 'fast' as never)).toThrow(
      expect.objectContaining({ path: 'FleetSync' }),
    );
  });

  it('fleetTop(n) refuses a bad n with a typed error, as a rejection', async () => {
    const sync = new FleetSync(new IpTracker(), { store });
    for (const n of [-1, 1.5, NaN, '3']) {
      await expect(sync.fleetTop(n as number)).rejects.toBeInstanceOf(ConfigError);
    }
    await sync.close();
  });
});

describeWithRedis('RedisStore at the largest timeout allowed', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('decides in Redis: the bound does not overflow into ~1 ms', async () => {
    const store = new RedisStore({
      url: server.url,
      timeoutMs: MAX_TIMEOUT,
      onFailure: 'failClosed',
    });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 1000, window: 60, action: [], action_duration: 60 }] } },
      { store },
    );
    const answers = await Promise.all(Array.from({ length: 200 }, () => hammer.incr('t', 'm')));
    expect(answers.every(Boolean)).toBe(true);
    expect(store.metrics()).toMatchObject({ decisions: 200, policy_decisions: 0, store_errors: 0 });
    await hammer.close();
  });
});
