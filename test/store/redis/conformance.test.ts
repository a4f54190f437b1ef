import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { RedisCluster, RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';
import { storeConformance } from '../conformance.js';

// The BanHammer store conformance suite, unchanged, against real Redis: one node, then a
// 3-master cluster. Each store gets a prefix of its own, so the stores of one run never meet.

let stores = 0;
const prefix = () => `conf${stores++}:`;

describeWithRedis('RedisStore on a single redis-server', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    // Auto-pipelining on, as a busy service would have it (a client path of its own).
    client = new Redis(server.port, '127.0.0.1', { enableAutoPipelining: true });
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });
  storeConformance('RedisStore (single node)', {
    make: (clock) => new RedisStore({ client, clock, prefix: prefix() }),
    propertyRuns: 40,
  });
});

describeWithRedis('RedisStore on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
    client = new Cluster(cluster.startupNodes);
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });
  storeConformance('RedisStore (cluster)', {
    make: (clock) => new RedisStore({ client, clock, prefix: prefix() }),
    propertyRuns: 25,
  });
});
