import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import { RedisStore } from '../../../src/store/redis/redis-store.js';
import { ManualClock } from '../../../src/time/manual-clock.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';
import { Oracle, type OracleThreshold } from '../oracle.js';

interface WorkerReport {
  passed: number;
  refused: number;
  tripped: number;
  actionCalls: number;
  storeErrors: number;
  metrics: { script_calls: number; decisions: number };
}

const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

/** Starts a worker; resolves once it is connected, with a function that starts its load. */
function startWorker(url: string, prefix: string, events: number, inFlight: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WORKER, url, prefix, String(events), String(inFlight)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else queue.push(line);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`))),
  );
  const nextLine = () =>
    Promise.race([
      new Promise<string>((resolve) => {
        const line = queue.shift();
        if (line !== undefined) resolve(line);
        else waiting.push(resolve);
      }),
      exited,
    ]);
  return {
    child,
    ready: nextLine(),
    go: async (): Promise<WorkerReport> => {
      child.stdin!.write('go\n');
      return JSON.parse(await nextLine()) as WorkerReport;
    },
  };
}

describeWithRedis('RedisStore: one fleet, one truth', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('4 processes × 2,500 events on one token, limit 500: exact counts, one trip fleet-wide', async () => {
    const workers = Array.from({ length: 4 }, () => startWorker(server.url, 'fleet:', 2500, 50));
    try {
      expect(await Promise.all(workers.map((w) => w.ready))).toEqual([
        'ready',
        'ready',
        'ready',
        'ready',
      ]);
      const reports = await Promise.all(workers.map((w) => w.go()));
      const sum = (field: 'passed' | 'refused' | 'tripped' | 'actionCalls' | 'storeErrors') =>
        reports.reduce((total, report) => total + report[field], 0);
      expect(sum('storeErrors')).toBe(0);
      expect(sum('passed')).toBe(500);
      expect(sum('refused')).toBe(9500);
      // The threshold trips once across the fleet, on the process whose event tripped it...
      expect(sum('tripped')).toBe(1);
      // ...and every refused event ran the action (the tripping one included) where it was seen.
      expect(sum('actionCalls')).toBe(9500);
      for (const report of reports) expect(report.actionCalls).toBe(report.refused);
      // Decisions were coalesced: fewer script calls than decisions.
      const calls = reports.reduce((total, r) => total + r.metrics.script_calls, 0);
      expect(calls).toBeLessThan(10_000);

      const store = new RedisStore({ url: server.url, prefix: 'fleet:' });
      const hammer = new BanHammer(
        {
          login_failed: {
            thresholds: [{ limit: 500, window: 3600, action: [], action_duration: 3600 }],
          },
        },
        { store },
      );
      const status = await hammer.status('203.0.113.77', 'login_failed');
      expect(status.token_rate_60m).toBe(10_000);
      expect(status.bans).toHaveLength(1);
      await hammer.close();
    } finally {
      for (const worker of workers) worker.child.kill();
    }
  });

  it('coalesces the decisions in flight together into one script call, each still exact', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'coalesce:' });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 99, window: 60, action: [], action_duration: 60 }] } },
      { store, returnRates: true },
    );
    await hammer.status('t', 'm');
    const answers = await Promise.all(Array.from({ length: 150 }, () => hammer.incr('t', 'm')));
    expect(store.metrics().script_calls).toBe(1);
    // In arrival order: the first 99 pass, the 100th trips, the rest are refused.
    expect(answers.map(([passed]) => passed)).toEqual(
      Array.from({ length: 150 }, (_, i) => i < 99),
    );
    expect(answers.map(([, stats]) => stats.token_rate_1m)).toEqual(
      Array.from({ length: 150 }, (_, i) => i + 1),
    );
    await hammer.close();
    const admin = new Redis(server.port, '127.0.0.1');
    expect(await admin.exists('coalesce:{t:t}:m:state')).toBe(1);
    admin.disconnect();
  });

  it('decides several metrics in one call, each against its own thresholds', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'metrics:' });
    const hammer = new BanHammer(
      {
        a: { thresholds: [{ limit: 2, window: 60, action: [], action_duration: 60 }] },
        b: { thresholds: [{ limit: 4, window: 60, action: [], action_duration: 60 }] },
        c: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] },
      },
      { store },
    );
    await hammer.status('t', 'a');
    const metrics = ['b', 'a', 'c', 'a', 'b', 'a', 'c', 'b', 'b', 'b', 'a'];
    const answers = await Promise.all(metrics.map((metric) => hammer.incr('t', metric)));
    expect(store.metrics().script_calls).toBe(1);
    expect(answers).toEqual([true, true, true, true, true, false, false, true, true, false, false]);
    await hammer.close();
  });

  it('keeps a busy pair exact while its times move to the :events list and back inline', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
    const store = new RedisStore({ url: server.url, clock: clock.now, prefix: 'spill:' });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 100, window: 10, action: [], action_duration: 0 }] } },
      { store, clock: clock.now },
    );
    const admin = new Redis(server.port, '127.0.0.1');
    const events = 'spill:{t:t}:m:events';
    const incr = async (count: number) => {
      let passed = 0;
      for (let i = 0; i < count; i++) if (await hammer.incr('t', 'm')) passed++;
      return passed;
    };
    // 60 events: inline. 40 more: 100 in the window, over INLINE, so in the list.
    expect(await incr(60)).toBe(60);
    expect(await admin.exists(events)).toBe(0);
    clock.advance(1);
    expect(await incr(40)).toBe(40);
    expect(await admin.llen(events)).toBe(100);
    // The 101st event within 10 s trips (a 0 s ban holds nothing: it trips each time).
    expect(await incr(2)).toBe(0);
    // 9.5 s later the first 60 have left the window: 42 in it, 58 more pass, then it trips.
    clock.advance(9.5);
    expect(await incr(58)).toBe(58);
    expect(await incr(1)).toBe(0);
    // A pause longer than the window: the list is dropped and the times are inline again.
    clock.advance(11);
    expect(await incr(1)).toBe(1);
    expect(await admin.exists(events)).toBe(0);
    expect(await incr(99)).toBe(99);
    expect(await incr(1)).toBe(0);
    admin.disconnect();
    await hammer.close();
  });

  // Limits up to 12: every pair keeps its event times inline in its :state key. Limits up to
  // 200 with batches of up to 80 events: busy pairs move their times to the :events list, and
  // back inline after a pause longer than every window.
  for (const { title, maxLimit, maxBatch, tokens, runs } of [
    { title: 'times inline', maxLimit: 12, maxBatch: 40, tokens: ['a', 'b', 'c'], runs: 60 },
    {
      title: 'times moving to the :events list and back',
      maxLimit: 200,
      maxBatch: 80,
      tokens: ['a', 'b'],
      runs: 80,
    },
  ]) {
    it(`a coalesced batch decides exactly like the same events one by one (property, ${title})`, async () => {
      // Auto-pipelining on: how a busy service sets ioredis up (and a path of its own there).
      const client = new Redis(server.port, '127.0.0.1', { enableAutoPipelining: true });
      let run = 0;
      let listed = 0;
      const threshold = fc.record({
        limit: fc.integer({ min: 0, max: maxLimit }),
        window: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 60, max: 3600 })),
        action_duration: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120 })),
      });
      const step = fc.record({
        advanceMs: fc.oneof(
          fc.integer({ min: 0, max: 2000 }),
          fc.integer({ min: 2000, max: 90_000 }),
        ),
        // Events in flight together, by token: one batch, several events per token.
        batch: fc.array(fc.constantFrom(...tokens), {
          minLength: 1,
          maxLength: maxBatch,
          size: 'max',
        }),
      });
      // A failed property must not leave the client connected to a server that goes away.
      onTestFinished(() => client.disconnect());
      await fc.assert(
        fc.asyncProperty(
          fc.array(threshold, { minLength: 1, maxLength: 3 }),
          fc.array(step, { minLength: 1, maxLength: 12 }),
          async (thresholds: OracleThreshold[], steps) => {
            const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
            const prefix = `prop${maxLimit}-${run++}:`;
            const store = new RedisStore({ client, clock: clock.now, prefix });
            await store.open({
              clock: clock.now,
              metrics: [
                {
                  name: 'm',
                  thresholds: thresholds.map((t) => ({
                    limit: t.limit,
                    windowSeconds: t.window,
                    durationSeconds: t.action_duration,
                    shadow: false,
                  })),
                },
              ],
            });
            const oracle = new Oracle(thresholds);
            for (const { advanceMs, batch } of steps) {
              clock.advance(advanceMs / 1000);
              const calls = store.metrics().script_calls;
              const decisions = await Promise.all(batch.map((token) => store.incr(token, 0)));
              expect(store.metrics().script_calls).toBe(calls + 1);
              batch.forEach((token, i) => {
                const expected = oracle.incr(token, clock.now());
                const got = decisions[i]!;
                expect({
                  passed: got.passed,
                  tripped: got.tripped,
                  blocking: got.blocking,
                }).toEqual(expected);
                expect(got.stats.token_rate_60m).toBe(oracle.count(token, clock.now(), 3600));
              });
              listed += await client.exists(
                ...tokens.map((token) => `${prefix}{t:${token}}:m:events`),
              );
            }
            await store.close();
          },
        ),
        { numRuns: runs },
      );
      if (maxLimit > 64) expect(listed).toBeGreaterThan(0);
    });
  }
});
