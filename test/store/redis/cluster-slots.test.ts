import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { command, RedisCluster } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

// On a cluster, the decisions in flight for one master share one script call whatever their
// slots; a slot that moved under the client's feet sends them again slot by slot, and nothing
// is counted twice.

describeWithRedis('RedisStore on a cluster: one script call per master, slots that move', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
    // No periodic refresh of the slot map: the client learns of a move only when a node
    // says so (MOVED/ASK), as it would between two refreshes.
    client = new Cluster(cluster.startupNodes, { slotsRefreshInterval: 0 });
    await client.ping();
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  const tokens = Array.from({ length: 600 }, (_, i) => `10.9.${i >> 8}.${i & 255}`);
  const hammerOn = (store: RedisStore) =>
    new BanHammer(
      { m: { thresholds: [{ limit: 2, window: 60, action: [], action_duration: 60 }] } },
      { store },
    );

  it('decides the decisions in flight for one master in one call, exactly, whatever their slots', async () => {
    const store = new RedisStore({ client, prefix: 'grp:' });
    const hammer = hammerOn(store);
    await hammer.status('warm-up', 'm');
    const calls = store.metrics().script_calls;
    // Each token three times, all in flight together: two pass, the third trips the limit.
    const answers = await Promise.all(
      [0, 1, 2].flatMap(() => tokens.map((token) => hammer.incr(token, 'm'))),
    );
    tokens.forEach((token, i) => {
      const mine = [answers[i], answers[tokens.length + i], answers[2 * tokens.length + i]];
      expect(mine, token).toEqual([true, true, false]);
    });
    // 1,800 decisions over ~600 slots: one call per master and 512 decisions, not per slot.
    expect(store.metrics().script_calls - calls).toBeLessThanOrEqual(3 * Math.ceil(1800 / 512));
    expect(store.metrics().regrouped_calls).toBe(0);
    await hammer.close();
  });

  it('keeps each decision to its own metric when one call carries several metrics and slots', async () => {
    const store = new RedisStore({ client, prefix: 'two:' });
    const hammer = new BanHammer(
      {
        strict: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] },
        loose: { thresholds: [{ limit: 2, window: 60, action: [], action_duration: 60 }] },
      },
      { store },
    );
    await hammer.status('warm-up', 'strict');
    const some = tokens.slice(0, 300);
    // Per token, interleaved: strict, loose, strict, loose, loose — all in flight together.
    const order = ['strict', 'loose', 'strict', 'loose', 'loose'] as const;
    const answers = await Promise.all(
      order.flatMap((metric) => some.map((token) => hammer.incr(token, metric))),
    );
    some.forEach((token, i) => {
      const mine = order.map((_, k) => answers[k * some.length + i]);
      // strict: 1 passes, the 2nd trips; loose: 2 pass, the 3rd trips.
      expect(mine, token).toEqual([true, true, false, true, false]);
    });
    expect(store.metrics().regrouped_calls).toBe(0);
    await hammer.close();
  });

  it('sends the decisions of a slot that moved again on their own, counting each once', async () => {
    const store = new RedisStore({ client, prefix: 'mov:' });
    const hammer = hammerOn(store);
    await hammer.status('warm-up', 'm');
    const many = tokens.slice(0, 200);
    const moved = many[0]!;
    const key = `mov:{t:${moved}}:m:state`;
    const slot = calculateSlot(key);
    const portOf = (address: string) => Number(address.split(':')[1]);
    const from = portOf(client.slots[slot]![0]!);
    const to = cluster.nodes.map((node) => node.port).find((port) => port !== from)!;
    const idOf = (port: number) => command(port, 'CLUSTER', 'MYID');
    const [fromId, toId] = [await idOf(from), await idOf(to)];

    const round = () => Promise.all(many.map((token) => hammer.incr(token, 'm')));
    expect(await round()).toEqual(many.map(() => true));

    // Mid-migration: the slot's keys are on the target already, the source still serves the
    // slot (MIGRATING): the source would ask the client to ask the target.
    await command(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await command(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    const keys = (await command(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100'))
      .split('\n')
      .filter((k) => k !== '');
    expect(keys).toContain(key);
    await command(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
    const before = store.metrics().regrouped_calls;
    // Each token's second event passes, its third trips the limit of 2.
    expect(await round()).toEqual(many.map(() => true));
    expect(store.metrics().regrouped_calls).toBeGreaterThan(before);

    // Migration done: the source now answers MOVED for the slot.
    for (const node of cluster.nodes) {
      await command(node.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    }
    expect(await round()).toEqual(many.map(() => false));
    for (const token of [moved, ...many.slice(1, 20)]) {
      expect((await hammer.status(token, 'm')).token_rate_1m, token).toBe(3);
    }
    await hammer.close();
  });

  it('decides in Redis, mid-migration, tokens of one slot whose :ban keys are missing', async () => {
    const store = new RedisStore({ client, prefix: 'imp:' });
    const hammer = hammerOn(store);
    await hammer.status('warm-up', 'm');
    // Two tokens of one slot: the target of a migration refuses a command of several of its
    // keys while some are missing (TRYAGAIN); decide.lua reads them one by one there.
    const first = 'imp-0';
    const slot = calculateSlot(`imp:{t:${first}}:m:state`);
    let second = '';
    for (let i = 1; second === ''; i++) {
      if (calculateSlot(`imp:{t:imp-${i}}:m:state`) === slot) second = `imp-${i}`;
    }
    const both = () => Promise.all([hammer.incr(first, 'm'), hammer.incr(second, 'm')]);
    expect(await both()).toEqual([true, true]);
    const portOf = (address: string) => Number(address.split(':')[1]);
    const from = portOf(client.slots[slot]![0]!);
    const to = cluster.nodes.map((node) => node.port).find((port) => port !== from)!;
    const [fromId, toId] = [
      await command(from, 'CLUSTER', 'MYID'),
      await command(to, 'CLUSTER', 'MYID'),
    ];
    await command(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await command(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    const keys = (await command(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100'))
      .split('\n')
      .filter((k) => k !== '');
    await command(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
    const answered = store.metrics().policy_decisions;
    expect(await both()).toEqual([true, true]);
    // The third event of each trips the limit of 2, decided by Redis on the importing node.
    expect(await both()).toEqual([false, false]);
    expect(store.metrics().policy_decisions).toBe(answered);
    for (const node of cluster.nodes) {
      await command(node.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    }
    expect(await store.banMs(first)).toBeGreaterThan(59_000);
    expect(await store.banMs(second)).toBeGreaterThan(59_000);
    await hammer.close();
  });
});
