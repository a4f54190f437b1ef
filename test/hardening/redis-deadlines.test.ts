import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { StoreError } from '../../src/errors.js';
import { RedisFleetTopStore } from '../../src/store/redis/fleet-top-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { ManualClock } from '../../src/time/manual-clock.js';
import { FleetSync, type FleetTopStore } from '../../src/tracker/fleet-sync.js';
import { IpTracker } from '../../src/tracker/ip-tracker.js';
import { RedisServer } from '../support/redis-server.js';
import { describeWithRedis } from '../support/redis-suite.js';

/*
 * Issue 13, item 1: with Redis frozen (SIGSTOP: its sockets stay open, nothing is answered),
 * every call of the Redis package settles with a typed error within its bound instead of
 * staying pending for good. The tests await each call with no deadline of their own beyond
 * the suite's: without the fix, a call that never settles fails the test by its timeout.
 */

const DAY = 86_400_000;
const SETTLES = 30_000;
const BANS = {
  login: { thresholds: [{ limit: 100, window: 3600, action: [], action_duration: 60 }] },
};

/** What `promise` rejects with (it must reject). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

function expectTimeout(error: Error, operation: RegExp, timeoutMs: number): void {
  expect(error).toBeInstanceOf(StoreError);
  expect(error.message).toMatch(operation);
  expect(error.message).toContain(`no answer within ${timeoutMs} ms`);
}

describeWithRedis('Redis calls settle with a typed error while Redis hangs', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(() => server.thaw());
  afterAll(async () => {
    await server?.stop();
  });

  it(
    'FleetSync: flush and fleetTop reject with StoreError; the batch waits and is applied once',
    async () => {
      const clock = new ManualClock(50 * DAY);
      const tracker = new IpTracker();
      const errors: unknown[] = [];
      const store = new RedisFleetTopStore({ url: server.url, prefix: 'f1:', timeoutMs: 300 });
      const sync = new FleetSync(tracker, {
        store,
        clock: clock.now,
        onError: (error) => errors.push(error),
      });
      tracker.requestHandled('192.0.2.1');
      await sync.flush();

      tracker.requestHandled('192.0.2.1');
      tracker.requestHandled('192.0.2.7');
      server.freeze();
      expectTimeout(await rejection(sync.flush()), /^Redis fleet add/, 300);
      expect(sync.stats).toMatchObject({ pendingBatches: 1, failedFlushes: 1 });
      expect(errors).toHaveLength(1);
      expectTimeout(await rejection(sync.fleetTop(10)), /^Redis fleet top/, 300);

      // Redis wakes up and applies the chunk it was sent; the batch, still queued, is sent
      // again and skipped by its marker: every request counted once.
      server.thaw();
      await sync.flush();
      expect(await sync.fleetTop(10)).toEqual([
        { ip: '192.0.2.1', count: 2 },
        { ip: '192.0.2.7', count: 1 },
      ]);
      await sync.close();
    },
    SETTLES,
  );

  it(
    'FleetSync.close settles while Redis hangs, and says what it could not send',
    async () => {
      const tracker = new IpTracker();
      const store = new RedisFleetTopStore({ url: server.url, prefix: 'f2:', timeoutMs: 300 });
      const sync = new FleetSync(tracker, { store, clock: new ManualClock(51 * DAY).now });
      await sync.fleetTop(1); // connected
      tracker.requestHandled('198.51.100.1');
      tracker.requestHandled('198.51.100.1');
      tracker.requestHandled('2001:db8::1');
      server.freeze();
      const error = await rejection(sync.close());
      expect(error).toBeInstanceOf(StoreError);
      expect(error.message).toContain('1 batch(es) of 3 request(s) were not sent');
      expect((error.cause as Error).message).toContain('no answer within 300 ms');
      expect(sync.stats).toMatchObject({ pendingBatches: 0, droppedBatches: 1 });
    },
    SETTLES,
  );

  it(
    'RedisFleetTopStore: add and top reject with StoreError on a client of your own',
    async () => {
      // ioredis's defaults: commands queue and wait, no timeout of its own.
      const client = new Redis(server.port, '127.0.0.1');
      client.on('error', () => {});
      const store = new RedisFleetTopStore({ client, prefix: 'f3:', timeoutMs: 300, shards: 3 });
      await store.top(0, 1);
      server.freeze();
      const batch = {
        id: 'b',
        period: 0,
        periodEnd: DAY,
        deltas: [{ family: 4 as const, words: Uint32Array.of(0x0a000001), count: 4 }],
      };
      expectTimeout(await rejection(store.add(batch)), /^Redis fleet add/, 300);
      expectTimeout(await rejection(store.top(0, 5)), /^Redis fleet top/, 300);
      await store.close();
      server.thaw();
      expect(await store.top(0, 5)).toEqual([{ ip: '10.0.0.1', count: 4 }]);
      client.disconnect();
    },
    SETTLES,
  );

  for (const own of [true, false]) {
    it(
      `RedisStore (${own ? 'its own client' : 'a client of your own'}): status, scan, ban and reset reject with StoreError, close settles`,
      async () => {
        const client = own ? undefined : new Redis(server.port, '127.0.0.1');
        client?.on('error', () => {});
        const prefix = `s${own ? 1 : 2}:`;
        const store = new RedisStore({
          ...(client === undefined ? { url: server.url } : { client }),
          prefix,
          timeoutMs: 300,
        });
        const hammer = new BanHammer(BANS, { store });
        expect(await hammer.incr('t', 'login')).toBe(true);
        server.freeze();
        expectTimeout(await rejection(hammer.status('t', 'login')), /^Redis status/, 300);
        const scanning = (async () => {
          for await (const _ of hammer.scan()) {
            // nothing: the first SCAN step hangs
          }
        })();
        expectTimeout(await rejection(scanning), /^Redis scan/, 300);
        expect(await rejection(hammer.now('t', 'login'))).toBeInstanceOf(StoreError);
        expect(await rejection(hammer.reset('t', 'login'))).toBeInstanceOf(StoreError);
        // A decision in flight when the store closes is answered by the policy in time.
        const last = hammer.incr('t', 'login');
        await hammer.close();
        expect(await last).toBe(true);
        client?.disconnect();
      },
      SETTLES,
    );
  }

  it(
    'RedisStore.open settles on a hung Redis; decisions go to the policy meanwhile',
    async () => {
      const client = new Redis(server.port, '127.0.0.1');
      client.on('error', () => {});
      await client.ping();
      server.freeze();
      const store = new RedisStore({
        client,
        prefix: 's3:',
        timeoutMs: 300,
        onFailure: 'failClosed',
      });
      const hammer = new BanHammer(BANS, { store });
      expect(await hammer.incr('t', 'login')).toBe(false);
      expect(store.metrics().policy_decisions).toBe(1);
      await hammer.close();
      client.disconnect();
    },
    SETTLES,
  );
});

describe('FleetSync bounds every call into its store, whatever the store', () => {
  /** A store whose every call stays pending for good. */
  const silent: FleetTopStore = {
    add: () => new Promise(() => {}),
    top: () => new Promise(() => {}),
    close: () => new Promise(() => {}),
  };

  it('flush, fleetTop and close reject with StoreError naming FleetSync.timeoutMs', async () => {
    const tracker = new IpTracker();
    const sync = new FleetSync(tracker, { store: silent, timeoutMs: 50 });
    tracker.requestHandled('203.0.113.5');
    const flushed = await rejection(sync.flush());
    expectTimeout(flushed, /^FleetSync flush/, 50);
    expect(flushed.message).toContain('FleetSync.timeoutMs');
    expectTimeout(await rejection(sync.fleetTop(3)), /^FleetSync fleetTop/, 50);
    // A second flush while the first call is still pending in the store also settles.
    expectTimeout(await rejection(sync.flush()), /^FleetSync flush/, 50);
    const closed = await rejection(sync.close());
    expect(closed.message).toContain('1 batch(es) of 1 request(s) were not sent');
    expect(sync.stats.droppedBatches).toBe(1);
  });

  it('close with nothing to send still settles when the store never closes', async () => {
    const sync = new FleetSync(new IpTracker(), { store: silent, timeoutMs: 50 });
    expectTimeout(await rejection(sync.close()), /^FleetSync close/, 50);
  });
});
