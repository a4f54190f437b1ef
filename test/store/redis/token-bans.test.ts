import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { banKeyOf } from '../../../src/store/redis/keys.js';
import { RedisStore, type StoreErrorEvent } from '../../../src/store/redis/redis-store.js';
import type { Decision, Quota, StoreMetric, StoreThreshold } from '../../../src/store/store.js';
import { ManualClock } from '../../../src/time/manual-clock.js';
import { command, RedisCluster, RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

/*
 * The seams of issue 15 on the Redis store, at the Store interface: a ban is on the token
 * (`banMs`, the :ban key), shadow thresholds, each decision's quota (against a brute force),
 * reset recomputing the token's ban, and the lift channel reaching every store of a prefix.
 * On one node and on a 3-master cluster, where a batch of several slots takes the other path
 * of decide.lua (its keys in ARGV).
 */

const START = Date.parse('2026-05-01T00:00:00Z');
const SECOND = 1000;

const threshold = (
  limit: number,
  windowSeconds: number,
  durationSeconds: number,
  shadow = false,
): StoreThreshold => ({ limit, windowSeconds, durationSeconds, shadow });

/** Polls `check` until it holds (lifts travel through Redis: no fixed wait). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never happened: ${what}`);
}

/*
 * The brute force: every event time of every (token, metric) in a list, every threshold
 * counted again from scratch on every event, every answer computed from the definitions in
 * src/store/store.ts.
 */
class Brute {
  readonly #metrics: readonly StoreMetric[];
  readonly #events = new Map<string, number[]>();
  readonly #bans = new Map<string, number[]>();

  constructor(metrics: readonly StoreMetric[]) {
    this.#metrics = metrics;
  }

  #bansOf(token: string, metric: number): number[] {
    const key = `${metric}|${token}`;
    let bans = this.#bans.get(key);
    if (bans === undefined) {
      bans = this.#metrics[metric]!.thresholds.map(() => 0);
      this.#bans.set(key, bans);
    }
    return bans;
  }

  #eventsOf(token: string, metric: number): number[] {
    const key = `${metric}|${token}`;
    let events = this.#events.get(key);
    if (events === undefined) {
      events = [];
      this.#events.set(key, events);
    }
    return events;
  }

  incr(token: string, metric: number, now: number): Omit<Decision, 'stats'> {
    const events = this.#eventsOf(token, metric);
    events.push(now);
    const bans = this.#bansOf(token, metric);
    const tripped: number[] = [];
    const blocking: number[] = [];
    let passed = true;
    this.#metrics[metric]!.thresholds.forEach((t, i) => {
      if (bans[i]! > now) {
        blocking.push(i);
      } else if (events.filter((at) => at > now - t.windowSeconds * SECOND).length > t.limit) {
        bans[i] = now + t.durationSeconds * SECOND;
        tripped.push(i);
      } else {
        return;
      }
      if (!t.shadow) passed = false;
    });
    const quota = this.#quota(token, metric, now);
    const decision = { passed, tripped, blocking, banMs: this.banMs(token, now) };
    return quota === undefined ? decision : { ...decision, quota };
  }

  #quota(token: string, metric: number, now: number): Quota | undefined {
    const events = this.#eventsOf(token, metric);
    const bans = this.#bansOf(token, metric);
    let best: Quota | undefined;
    this.#metrics[metric]!.thresholds.forEach((t, i) => {
      if (t.shadow) return;
      let remaining: number;
      let resetMs: number;
      if (bans[i]! > now) {
        remaining = 0;
        resetMs = bans[i]! - now;
      } else {
        const windowMs = t.windowSeconds * SECOND;
        const inWindow = events.filter((at) => at > now - windowMs).length;
        // Counted up to limit + 1, as the stores keep no more event times than that.
        const counted = Math.min(t.limit + 1, inWindow);
        remaining = Math.max(0, t.limit - counted);
        resetMs = counted === 0 ? 0 : events[events.length - counted]! + windowMs - now;
      }
      if (best === undefined || remaining < best.remaining) {
        best = { threshold: i, remaining, resetMs };
      }
    });
    return best;
  }

  ban(token: string, metric: number, threshold: number, now: number): void {
    const t = this.#metrics[metric]!.thresholds[threshold]!;
    this.#bansOf(token, metric)[threshold] = now + t.durationSeconds * SECOND;
  }

  reset(token: string, metric: number): void {
    this.#events.delete(`${metric}|${token}`);
    this.#bans.delete(`${metric}|${token}`);
  }

  banMs(token: string, now: number): number {
    let latest = now;
    this.#metrics.forEach((m, metric) => {
      const bans = this.#bans.get(`${metric}|${token}`);
      if (bans === undefined) return;
      m.thresholds.forEach((t, i) => {
        if (!t.shadow && bans[i]! > latest) latest = bans[i]!;
      });
    });
    return latest - now;
  }

  count(token: string, metric: number, now: number): number {
    return this.#eventsOf(token, metric).filter((at) => at > now - 3600 * SECOND).length;
  }
}

interface Target {
  /** A client of the server or cluster, made for each test (and closed by it). */
  client: () => Redis | Cluster;
  /** Every master's port, for admin commands. */
  ports: () => number[];
}

let prefixes = 0;
const freshPrefix = (what: string) => `${what}${prefixes++}:`;

function tokenBans(name: string, target: Target, propertyRuns: number): void {
  describe(name, () => {
    function client(): Redis | Cluster {
      const made = target.client();
      onTestFinished(() => made.disconnect());
      return made;
    }

    async function opened(
      metrics: StoreMetric[],
      options: { quota?: boolean; clock?: ManualClock; prefix?: string; on?: Redis | Cluster } = {},
    ): Promise<{ store: RedisStore; clock: ManualClock; prefix: string }> {
      const clock = options.clock ?? new ManualClock(START);
      const prefix = options.prefix ?? freshPrefix('tb');
      const store = new RedisStore({ client: options.on ?? client(), clock: clock.now, prefix });
      onTestFinished(() => store.close());
      await store.open({ metrics, clock: clock.now, quota: options.quota ?? false });
      return { store, clock, prefix };
    }

    /** Subscribers of `channel` over every master (a cluster's subscriber is on any one). */
    async function subscribers(channel: string): Promise<number> {
      let sum = 0;
      for (const port of target.ports()) {
        const reply = await command(port, 'PUBSUB', 'NUMSUB', channel);
        sum += Number(reply.split('\n').at(-1));
      }
      return sum;
    }

    it('a ban tripped on one metric is on the token: every metric decision and banMs carry it', async () => {
      const { store, clock } = await opened([
        { name: 'login_failed', thresholds: [threshold(1, 60, 60), threshold(3, 600, 600)] },
        { name: 'request', thresholds: [threshold(100, 60, 60)] },
      ]);
      expect((await store.incr('t', 0)).banMs).toBe(0);
      // The second login failure trips a 60 s ban.
      expect(await store.incr('t', 0)).toMatchObject({
        passed: false,
        tripped: [0],
        banMs: 60_000,
      });
      clock.advance(10);
      // The request metric's own threshold passes it; the token is still banned for 50 s.
      expect(await store.incr('t', 1)).toMatchObject({ passed: true, tripped: [], banMs: 50_000 });
      expect(await store.banMs('t')).toBe(50_000);
      expect(await store.banMs('other')).toBe(0);
      expect((await store.incr('other', 1)).banMs).toBe(0);
      // Two more failures: the 600 s ban is the latest.
      await store.incr('t', 0);
      expect(await store.incr('t', 0)).toMatchObject({ tripped: [1], blocking: [0] });
      expect(await store.banMs('t')).toBe(600_000);
      clock.advance(600);
      expect(await store.banMs('t')).toBe(0);
      expect((await store.incr('t', 1)).banMs).toBe(0);
    });

    it('decisions in flight together see the bans of the earlier ones, in arrival order, across metrics and tokens', async () => {
      const { store } = await opened([
        { name: 'a', thresholds: [threshold(1, 60, 60)] },
        { name: 'b', thresholds: [threshold(100, 60, 30)] },
      ]);
      // Tokens of several slots, so a cluster takes the cross-slot path.
      const tokens = Array.from({ length: 40 }, (_, i) => `10.0.0.${i}`);
      await Promise.all(tokens.map((token) => store.incr(token, 0)));
      const calls = store.metrics().script_calls;
      const answers = await Promise.all(
        tokens.flatMap((token) => [
          store.incr(token, 1),
          store.incr(token, 0),
          store.incr(token, 1),
        ]),
      );
      tokens.forEach((token, i) => {
        const [before, trip, after] = answers.slice(3 * i, 3 * i + 3);
        expect([before!.banMs, trip!.banMs, after!.banMs], token).toEqual([0, 60_000, 60_000]);
        expect([before!.passed, trip!.passed, after!.passed], token).toEqual([true, false, true]);
      });
      expect(store.metrics().script_calls - calls).toBeLessThanOrEqual(3);
      expect(await store.banMs(tokens[7]!)).toBe(60_000);
    });

    it('shadow thresholds trip once per ban and report, but never refuse nor ban the token', async () => {
      const { store, clock } = await opened([
        { name: 'm', thresholds: [threshold(1, 60, 30, true), threshold(3, 60, 60)] },
        { name: 'watched', thresholds: [threshold(0, 60, 60, true)] },
      ]);
      expect(await store.incr('t', 0)).toMatchObject({ passed: true, tripped: [], blocking: [] });
      expect(await store.incr('t', 0)).toMatchObject({
        passed: true,
        tripped: [0],
        blocking: [],
        banMs: 0,
      });
      // Its ban is kept so that it trips once per ban: the next events are blocking, not trips.
      expect(await store.incr('t', 0)).toMatchObject({ passed: true, tripped: [], blocking: [0] });
      expect(await store.incr('t', 0)).toMatchObject({
        passed: false,
        tripped: [1],
        blocking: [0],
        banMs: 60_000,
      });
      // Its ban ended: it trips again (4 events in its window).
      clock.advance(31);
      expect(await store.incr('t', 0)).toMatchObject({
        passed: false,
        tripped: [0],
        blocking: [1],
        banMs: 29_000,
      });
      expect(await store.status('t', 0)).toMatchObject({
        bans: [{ threshold: 0 }, { threshold: 1 }],
      });
      // A metric of shadow thresholds only: trips, passes, no ban on the token, no :ban key.
      expect(await store.incr('s', 1)).toMatchObject({ passed: true, tripped: [0], banMs: 0 });
      expect(await store.banMs('s')).toBe(0);
      // A manual ban at a shadow threshold bans nothing either.
      await store.ban('s', 0, 0);
      expect(await store.banMs('s')).toBe(0);
      await store.ban('s', 0, 1);
      expect(await store.banMs('s')).toBe(60_000);
    });

    it('a manual ban is on the token too', async () => {
      const { store, clock } = await opened([
        { name: 'a', thresholds: [threshold(5, 60, 120)] },
        { name: 'b', thresholds: [threshold(5, 60, 60)] },
      ]);
      const status = await store.ban('t', 0, 0);
      expect(status.blocked_until).toBe(START + 120_000);
      expect(await store.banMs('t')).toBe(120_000);
      expect(await store.incr('t', 1)).toMatchObject({ passed: true, banMs: 120_000 });
      clock.advance(100);
      // 20 s of a's ban are left: b's 60 s one is the latest.
      await store.ban('t', 1, 0);
      expect(await store.banMs('t')).toBe(60_000);
      clock.advance(30);
      // a's own ban has ended: its event passes a, and the token is banned 30 s more by b.
      expect(await store.incr('t', 0)).toMatchObject({ passed: true, banMs: 30_000 });
    });

    it('reset lifts the pair and leaves the token banned by its other metrics only', async () => {
      const { store, clock, prefix } = await opened([
        { name: 'a', thresholds: [threshold(0, 60, 60)] },
        { name: 'b', thresholds: [threshold(0, 60, 600)] },
        { name: 'c', thresholds: [threshold(0, 60, 900, true)] },
      ]);
      const admin = client();
      await store.incr('t', 0);
      await store.incr('t', 1);
      await store.incr('t', 2);
      expect(await store.banMs('t')).toBe(600_000);
      clock.advance(5);
      await store.reset('t', 1);
      // a's ban remains (c is a shadow one, which bans nothing).
      expect(await store.banMs('t')).toBe(55_000);
      expect(await admin.pttl(banKeyOf(prefix, 't'))).toBeLessThanOrEqual(55_000);
      expect(await store.incr('t', 1)).toMatchObject({
        passed: false,
        tripped: [0],
        banMs: 600_000,
      });
      await store.reset('t', 1);
      await store.reset('t', 0);
      expect(await store.banMs('t')).toBe(0);
      expect(await admin.exists(banKeyOf(prefix, 't'))).toBe(0);
      expect(await store.incr('t', 0)).toMatchObject({ tripped: [0], banMs: 60_000 });
      // A ban that has ended by the reset is not written back.
      clock.advance(61);
      await store.reset('t', 2);
      expect(await admin.exists(banKeyOf(prefix, 't'))).toBe(0);
    });

    it("reaches every store's watchLifts on the prefix, this one's included, and only those", async () => {
      const prefix = freshPrefix('lift');
      const clock = new ManualClock(START);
      const metrics = [{ name: 'm', thresholds: [threshold(0, 60, 60)] }];
      const { store: a } = await opened(metrics, { prefix, clock });
      const { store: b } = await opened(metrics, { prefix, clock });
      const { store: other } = await opened(metrics, { clock });
      const heard = { a: [] as string[], b: [] as string[], other: [] as string[] };
      a.watchLifts((token) => heard.a.push(token));
      b.watchLifts((token) => heard.b.push(token));
      other.watchLifts((token) => heard.other.push(token));
      expect(() => a.watchLifts(() => {})).toThrow('once per store');
      await until('both subscribed', async () => (await subscribers(`${prefix}lifts`)) === 2);

      await b.incr('203.0.113.7', 0);
      expect(await a.banMs('203.0.113.7')).toBe(60_000);
      await b.reset('203.0.113.7', 0);
      expect(await a.banMs('203.0.113.7')).toBe(0);
      await a.reset('é}:m:state', 0);
      await until('both heard', () => heard.a.length === 2 && heard.b.length === 2);
      // On a cluster, two tokens' lifts are published by their slots' nodes and may arrive in
      // either order (one crosses the cluster bus): nothing orders lifts of different tokens.
      expect(heard.a.sort()).toEqual(['203.0.113.7', 'é}:m:state']);
      expect(heard.b.sort()).toEqual(['203.0.113.7', 'é}:m:state']);
      expect(heard.other).toEqual([]);
      expect(a.metrics().lifts).toBe(2);

      // close() ends the subscription.
      await a.close();
      await until('a unsubscribed', async () => (await subscribers(`${prefix}lifts`)) === 1);
    });

    it('a listener that throws is counted, never crashes, and the next lift is still heard', async () => {
      const { store, prefix } = await opened([{ name: 'm', thresholds: [threshold(0, 60, 60)] }]);
      const heard: string[] = [];
      store.watchLifts((token) => {
        heard.push(token);
        throw new Error('listener bug');
      });
      await until('subscribed', async () => (await subscribers(`${prefix}lifts`)) === 1);
      await store.reset('x', 0);
      await store.reset('y', 0);
      await until('both heard', () => heard.length === 2);
      expect(heard).toEqual(['x', 'y']);
      expect(store.listenerErrors).toBe(2);
    });

    it('subscribes again after its connection is killed', async () => {
      const { store, prefix } = await opened([{ name: 'm', thresholds: [threshold(0, 60, 60)] }]);
      const heard: string[] = [];
      store.watchLifts((token) => heard.push(token));
      const channel = `${prefix}lifts`;
      await until('subscribed', async () => (await subscribers(channel)) === 1);
      for (const port of target.ports()) await command(port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
      await until('subscribed again', async () => (await subscribers(channel)) === 1);
      await store.reset('after', 0);
      await until('heard', () => heard.includes('after'));
    });

    it('gives every decision its quota when asked, exactly, and changes nothing else (property)', async () => {
      const thresholdArb = fc.record({
        limit: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 60, max: 90 })),
        // Windows of seconds at least: the :events list's TTL is on Redis's own clock.
        windowSeconds: fc.oneof(
          fc.integer({ min: 5, max: 30 }),
          fc.integer({ min: 60, max: 3600 }),
        ),
        // No ban shorter than a run lasts: the :ban key's TTL is on Redis's own clock too.
        durationSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 30, max: 120 })),
        shadow: fc.boolean(),
      });
      const metricsArb = fc.array(fc.array(thresholdArb, { minLength: 1, maxLength: 3 }), {
        minLength: 1,
        maxLength: 2,
      });
      const tokens = ['a', 'b', '10.1.2.3', '2001:db8::1'];
      const eventArb = fc.record({
        token: fc.constantFrom(...tokens),
        metric: fc.integer({ min: 0, max: 1 }),
      });
      const stepArb = fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant('incr' as const),
            advanceMs: fc.oneof(
              fc.integer({ min: 0, max: 3000 }),
              fc.integer({ min: 3000, max: 90_000 }),
            ),
            batch: fc.array(eventArb, { minLength: 1, maxLength: 80 }),
          }),
        },
        {
          // Many events of one pair: past 64 in its window, its times move to an :events list.
          weight: 2,
          arbitrary: fc
            .record({
              advanceMs: fc.integer({ min: 0, max: 3000 }),
              event: eventArb,
              count: fc.integer({ min: 20, max: 80 }),
            })
            .map(({ advanceMs, event, count }) => ({
              kind: 'incr' as const,
              advanceMs,
              batch: Array.from({ length: count }, () => event),
            })),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constantFrom('reset' as const, 'ban' as const),
            event: eventArb,
            threshold: fc.nat(2),
          }),
        },
      );
      const shared = client();
      let listed = 0;
      await fc.assert(
        fc.asyncProperty(
          metricsArb,
          fc.array(stepArb, { minLength: 1, maxLength: 10 }),
          async (thresholds, steps) => {
            const metrics = thresholds.map((list, i) => ({ name: `m${i}`, thresholds: list }));
            const clock = new ManualClock(START);
            const quota = await opened(metrics, { quota: true, clock, on: shared });
            const plain = await opened(metrics, { clock, on: shared });
            const brute = new Brute(metrics);
            for (const step of steps) {
              if (step.kind !== 'incr') {
                const metric = step.event.metric % metrics.length;
                const { token } = step.event;
                const at = step.threshold % metrics[metric]!.thresholds.length;
                if (step.kind === 'reset') {
                  await Promise.all([
                    quota.store.reset(token, metric),
                    plain.store.reset(token, metric),
                  ]);
                  brute.reset(token, metric);
                } else {
                  await Promise.all([
                    quota.store.ban(token, metric, at),
                    plain.store.ban(token, metric, at),
                  ]);
                  brute.ban(token, metric, at, clock.now());
                }
                continue;
              }
              clock.advance(step.advanceMs / 1000);
              const events = step.batch.map(({ token, metric }) => ({
                token,
                metric: metric % metrics.length,
              }));
              const [withQuota, without] = await Promise.all([
                Promise.all(events.map(({ token, metric }) => quota.store.incr(token, metric))),
                Promise.all(events.map(({ token, metric }) => plain.store.incr(token, metric))),
              ]);
              const now = clock.now();
              events.forEach(({ token, metric }, i) => {
                const expected = brute.incr(token, metric, now);
                const got = withQuota[i]!;
                const { stats, ...rest } = got;
                expect(rest, `decision ${i} of ${token}/${metric}`).toEqual(expected);
                expect(stats.token_rate_60m).toBe(brute.count(token, metric, now));
                // The default path: the same decision, without a quota.
                expect(without[i]).toEqual(
                  expected.quota === undefined ? got : { ...got, quota: undefined },
                );
                expect('quota' in without[i]!).toBe(false);
              });
            }
            for (const token of tokens) {
              expect(await quota.store.banMs(token), token).toBe(brute.banMs(token, clock.now()));
              for (const { name } of metrics) {
                listed += await shared.exists(`${quota.prefix}{t:${token}}:${name}:events`);
              }
            }
            await quota.store.close();
            await plain.store.close();
          },
        ),
        { numRuns: propertyRuns },
      );
      // The quota was checked on event times read from :events lists too.
      expect(listed).toBeGreaterThan(0);
    });
  });
}

describeWithRedis('RedisStore token bans, shadow thresholds, quota and lifts', () => {
  let server: RedisServer;
  let cluster: RedisCluster;
  beforeAll(async () => {
    [server, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  tokenBans(
    'on a single redis-server',
    {
      client: () => new Redis(server.port, '127.0.0.1', { enableAutoPipelining: true }),
      ports: () => [server.port],
    },
    60,
  );
  tokenBans(
    'on a 3-master cluster',
    {
      client: () => new Cluster(cluster.startupNodes, { enableAutoPipelining: true }),
      ports: () => cluster.nodes.map((node) => node.port),
    },
    25,
  );

  it('reports the lift connection down once per outage, and hears lifts again once Redis is back', async () => {
    const own = await RedisServer.start();
    onTestFinished(() => own.stop());
    const store = new RedisStore({ url: own.url, prefix: 'outage:' });
    const errors: StoreErrorEvent[] = [];
    store.on('store_error', (event) => errors.push(event));
    onTestFinished(() => store.close());
    await store.open({
      metrics: [{ name: 'm', thresholds: [threshold(0, 60, 60)] }],
      clock: Date.now,
    });
    const heard: string[] = [];
    store.watchLifts((token) => heard.push(token));
    const subscribed = async () =>
      (await command(own.port, 'PUBSUB', 'NUMSUB', 'outage:lifts')).endsWith('\n1');
    await until('subscribed', subscribed);
    await own.halt();
    await until('several failed reconnects', () => store.metrics().lift_errors >= 2);
    const down = errors.filter((event) => event.operation === 'watchLifts');
    expect(down).toHaveLength(1);
    expect(down[0]!.error.message).toMatch(/lifts published until it is back are missed/);
    await own.resume();
    await until('subscribed again', subscribed);
    await store.reset('back', 0);
    await until('heard', () => heard.includes('back'));
  });
});
