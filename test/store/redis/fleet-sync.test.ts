import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisFleetTopStore } from '../../../src/store/redis/fleet-top-store.js';
import { Sfc32 } from '../../../src/synth/prng.js';
import { ManualClock } from '../../../src/time/manual-clock.js';
import { FleetSync } from '../../../src/tracker/fleet-sync.js';
import { IpTracker } from '../../../src/tracker/ip-tracker.js';
import { RedisCluster, RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';
import { OracleTracker } from '../../tracker/oracle.js';

const DAY = 86_400_000;

/** A pool with IPv4 and IPv6 addresses, some shared by every process. */
function addressPool(size: number, seed: number): string[] {
  const source = new Sfc32(seed);
  const rng = () => source.nextFloat();
  const pool: string[] = [];
  for (let i = 0; i < size; i++) {
    const r = () => Math.floor(rng() * 256);
    pool.push(
      i % 3 === 0
        ? `2001:db8::${((r() << 8) | r()).toString(16)}:${r().toString(16)}`
        : `${10 + (i % 5)}.${r()}.${r()}.${r()}`,
    );
  }
  return pool;
}

/** Skewed traffic so the top list has clear leaders and plenty of ties further down. */
function traffic(pool: readonly string[], requests: number, seed: number): string[] {
  const source = new Sfc32(seed);
  const rng = () => source.nextFloat();
  return Array.from({ length: requests }, () => pool[Math.floor(rng() ** 3 * pool.length)]!);
}

describeWithRedis('FleetSync over Redis: the fleet-wide top N', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.port, '127.0.0.1');
    admin.on('error', () => {});
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('two processes flushing to one Redis: fleetTop equals the merged counts', async () => {
    const clock = new ManualClock(10 * DAY + 1000);
    const pool = addressPool(3000, 1);
    const oracle = new OracleTracker(100);
    const syncs = [0, 1].map(() => {
      const tracker = new IpTracker();
      const store = new RedisFleetTopStore({ url: server.url, prefix: 'two:', chunkSize: 100 });
      return { tracker, sync: new FleetSync(tracker, { store, clock: clock.now }) };
    });
    // Three flush rounds, each process with its own traffic between them.
    for (let round = 0; round < 3; round++) {
      for (const [i, { tracker, sync }] of syncs.entries()) {
        for (const ip of traffic(pool, 20_000, round * 10 + i)) {
          tracker.requestHandled(ip);
          oracle.requestHandled(ip);
        }
        await sync.flush();
      }
      clock.advance(5);
    }
    for (const { sync } of syncs) {
      expect(await sync.fleetTop(100)).toEqual(oracle.top(100));
      expect(sync.stats).toMatchObject({ failedFlushes: 0, pendingBatches: 0, droppedBatches: 0 });
    }
    // Each process alone knows only its part.
    expect(syncs[0]!.tracker.top(100)).not.toEqual(oracle.top(100));
    // Every key expires.
    const keys = await admin.keys('two:*');
    expect(keys.length).toBeGreaterThan(1);
    for (const key of keys) expect(await admin.pttl(key)).toBeGreaterThan(0);
    await Promise.all(syncs.map(({ sync }) => sync.close()));
  });

  it('a batch sent twice (a retry after a lost reply) is counted once', async () => {
    const store = new RedisFleetTopStore({ url: server.url, prefix: 'retry:' });
    const batch = {
      id: 'same-id',
      period: 0,
      periodEnd: Date.now() + DAY,
      deltas: [{ family: 4 as const, words: Uint32Array.of(0x01020304), count: 7 }],
    };
    await store.add(batch);
    await store.add(batch);
    expect(await store.top(0, 10)).toEqual([{ ip: '1.2.3.4', count: 7 }]);
    await store.add({ ...batch, id: 'other-id' });
    expect(await store.top(0, 10)).toEqual([{ ip: '1.2.3.4', count: 14 }]);
    await store.close();
  });

  it('survives Redis going away: flushes fail, batches wait, nothing is lost', async () => {
    const clock = new ManualClock(20 * DAY);
    const tracker = new IpTracker();
    const errors: unknown[] = [];
    const store = new RedisFleetTopStore({ url: server.url, prefix: 'outage:' });
    const sync = new FleetSync(tracker, {
      store,
      clock: clock.now,
      onError: (e) => errors.push(e),
    });
    const oracle = new OracleTracker(10);
    const count = (ip: string, times: number) => {
      for (let i = 0; i < times; i++) {
        tracker.requestHandled(ip);
        oracle.requestHandled(ip);
      }
    };
    count('192.0.2.1', 5);
    await sync.flush();
    await server.halt({ save: true });
    count('192.0.2.2', 9);
    await expect(sync.flush()).rejects.toThrow();
    count('::1', 3);
    await expect(sync.flush()).rejects.toThrow();
    expect(sync.stats.pendingBatches).toBe(2);
    expect(errors.length).toBe(2);
    await server.resume();
    // ioredis reconnects on its own; the next flush that finds it connected sends everything.
    let sent = false;
    for (let attempt = 0; attempt < 200 && !sent; attempt++) {
      sent = await sync.flush().then(
        () => true,
        () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50)),
      );
    }
    expect(sent).toBe(true);
    expect(await sync.fleetTop(10)).toEqual(oracle.top(10));
    await sync.close();
  });

  it('a tracker rollover closes the period: its requests stay in that day', async () => {
    const clock = new ManualClock(30 * DAY + 1000);
    const tracker = new IpTracker({ rollover: true, clock: clock.now });
    const store = new RedisFleetTopStore({ url: server.url, prefix: 'roll:' });
    const sync = new FleetSync(tracker, { store, clock: clock.now });
    for (let i = 0; i < 4; i++) tracker.requestHandled('198.51.100.1');
    clock.set(31 * DAY + 10); // midnight passes without a flush
    tracker.requestHandled('198.51.100.2');
    await sync.flush();
    expect(await sync.fleetTop(5, { previous: true })).toEqual([{ ip: '198.51.100.1', count: 4 }]);
    expect(await sync.fleetTop(5)).toEqual([{ ip: '198.51.100.2', count: 1 }]);
    await sync.close();
  });

  it('refuses a second observer on one tracker', async () => {
    const tracker = new IpTracker();
    const sync = new FleetSync(tracker, {
      store: new RedisFleetTopStore({ url: server.url, prefix: 'x:' }),
    });
    expect(
      () => new FleetSync(tracker, { store: new RedisFleetTopStore({ url: server.url }) }),
    ).toThrow(/already has an observer/);
    await sync.close();
  });
});

describeWithRedis('FleetSync over a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('shards the totals over every master and still answers the exact top N', async () => {
    const client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
    const clock = new ManualClock(40 * DAY);
    const pool = addressPool(2000, 2);
    const oracle = new OracleTracker(50);
    const syncs = [0, 1, 2].map(() => {
      const tracker = new IpTracker();
      const store = new RedisFleetTopStore({ client, shards: 12, chunkSize: 50 });
      return { tracker, sync: new FleetSync(tracker, { store, clock: clock.now }) };
    });
    for (const [i, { tracker, sync }] of syncs.entries()) {
      for (const ip of traffic(pool, 15_000, 100 + i)) {
        tracker.requestHandled(ip);
        oracle.requestHandled(ip);
      }
      await sync.flush();
    }
    expect(await syncs[2]!.sync.fleetTop(50)).toEqual(oracle.top(50));
    const perMaster = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(perMaster.filter((keys) => keys > 0)).toHaveLength(3);
    await Promise.all(syncs.map(({ sync }) => sync.close()));
    client.disconnect();
  });
});

describe('FleetSync options', () => {
  it('rejects a bad interval with the option named', () => {
    const store = { add: async () => {}, top: async () => [], close: async () => {} };
    expect(() => new FleetSync(new IpTracker(), { store, intervalSeconds: 0 })).toThrow(
      /FleetSync\.intervalSeconds/,
    );
  });
});
