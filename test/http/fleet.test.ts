/*
 * Bans that hold fleet-wide: two processes, each a guarded app on one Redis. A ban tripped
 * through A refuses the client on B on its next request; lifting it on B lets it through on A.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisServer } from '../support/redis-server.js';
import { describeWithRedis } from '../support/redis-suite.js';

const WORKER = new URL('./fleet-worker.ts', import.meta.url).pathname;

interface Worker {
  readonly url: string;
  readonly child: ChildProcess;
}

function startWorker(redisUrl: string, prefix: string): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, redisUrl, prefix], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fleet worker exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (url) => resolve({ url, child }));
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('not in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithRedis('the guard across a fleet on one Redis', () => {
  let redis: RedisServer;
  let a: Worker;
  let b: Worker;

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([
      startWorker(redis.url, 'fleet:'),
      startWorker(redis.url, 'fleet:'),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const worker of [a, b]) worker?.child.kill('SIGTERM');
    await redis?.stop();
  });

  const as = (client: string) => ({ 'x-forwarded-for': client });
  const metrics = async (worker: Worker) =>
    (await (await fetch(`${worker.url}/metrics`)).json()) as {
      counters: { deny_cached: number };
      store: { decisions: number };
    };

  it('a ban tripped through A refuses the client on B, at its next request; a lift on B frees it on A', async () => {
    const client = '203.0.113.44';
    // Three failed logins through A: the third trips login_failed (limit 2).
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${a.url}/login`, { method: 'POST', headers: as(client) });
      expect(response.status).toBe(401);
    }
    await eventually(
      async () => (await fetch(`${a.url}/hello`, { headers: as(client) })).status === 429,
    );
    // B has never seen the client: its first request is decided in Redis, and refused.
    const before = await metrics(b);
    const refused = await fetch(`${b.url}/hello`, { headers: as(client) });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3500);
    const after = await metrics(b);
    expect(after.store.decisions - before.store.decisions).toBe(1);
    // Its next one comes from B's deny cache: no round trip.
    expect((await fetch(`${b.url}/hello`, { headers: as(client) })).status).toBe(429);
    const cached = await metrics(b);
    expect(cached.store.decisions).toBe(after.store.decisions);
    expect(cached.counters.deny_cached).toBe(after.counters.deny_cached + 1);
    // Others pass everywhere.
    expect((await fetch(`${b.url}/hello`, { headers: as('198.51.100.3') })).status).toBe(200);

    // A holds the client in its own deny cache; a lift on B reaches it through Redis.
    expect((await fetch(`${a.url}/hello`, { headers: as(client) })).status).toBe(429);
    const lift = await fetch(`${b.url}/lift?token=${client}`, { method: 'POST' });
    expect(lift.status).toBe(204);
    expect((await fetch(`${b.url}/hello`, { headers: as(client) })).status).toBe(200);
    await eventually(
      async () => (await fetch(`${a.url}/hello`, { headers: as(client) })).status === 200,
    );
  }, 60_000);
});
