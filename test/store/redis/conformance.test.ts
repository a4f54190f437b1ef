import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { RedisCluster, RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';
import { storeConformance } from '../conformance.js';
import { guardConformance } from '../guard-conformance.js';

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
  guardConformance('RedisStore (single node)', {
    make: (clock) => new RedisStore({ client, clock, prefix: prefix() }),
    propertyRuns: 40,
  });
});

describeWithRedis('RedisStore on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
    client = new Cluster(cluster.startupNodes, { enableAutoPipelining: true });
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });
  storeConformance('RedisStore (cluster)', {
    // A 2 s bound per call, not 500 ms: the hostile-names case has a 1 MB token, and ioredis
    // finds a Cluster command's slot by turning its key into an array of UTF-8 bytes, ≈ 40 ms
    // per command for a 1 MB key and ≈ 110 ms with auto-pipelining (which does it more than
    // once); its scan() makes several such calls in a row (measured, .ci machine).
    make: (clock) => new RedisStore({ client, clock, prefix: prefix(), timeoutMs: 2000 }),
    propertyRuns: 25,
  });
  guardConformance('RedisStore (cluster)', {
    make: (clock) => new RedisStore({ client, clock, prefix: prefix(), timeoutMs: 2000 }),
    propertyRuns: 25,
  });
});
