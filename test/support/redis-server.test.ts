import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command, RedisCluster, RedisServer } from './redis-server.js';
import { describeWithRedis } from './redis-suite.js';

describeWithRedis('test support: real redis-server processes', () => {
  let server: RedisServer;
  let cluster: RedisCluster;

  beforeAll(async () => {
    [server, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  it('starts a server on a port of its own, without persistence', async () => {
    expect(server.port).not.toBe(6379);
    expect(await command(server.port, 'PING')).toBe('PONG');
    expect(await command(server.port, 'CONFIG', 'GET', 'appendonly')).toBe('appendonly\nno');
  });

  it('restarts on the same port, empty or with its data', async () => {
    const client = new Redis(server.port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => {});
    await client.connect();
    await client.set('kept', '1');
    await server.halt({ save: true });
    expect(server.running).toBe(false);
    await server.resume();
    expect(await command(server.port, 'GET', 'kept')).toBe('1');
    await server.halt();
    await server.resume();
    expect(await command(server.port, 'DBSIZE')).toBe('0');
    client.disconnect();
  });

  it('builds a 3-master cluster that owns every slot', async () => {
    const client = new Cluster(cluster.startupNodes);
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
      for (const key of keys) await client.set(key, key);
      const perNode = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
      expect(perNode).toHaveLength(3);
      expect(perNode.every((size) => size > 0)).toBe(true);
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(keys.length);
    } finally {
      client.disconnect();
    }
  });
});
