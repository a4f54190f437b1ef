import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import type { TrippedEvent } from '../../src/banhammer/events.js';
import { StoreError } from '../../src/errors.js';
import { type RedisFailurePolicy, RedisStore } from '../../src/store/redis/redis-store.js';
import { ManualClock } from '../../src/time/manual-clock.js';
import { RedisCluster, RedisServer } from '../support/redis-server.js';
import { describeWithRedis } from '../support/redis-suite.js';

/*
 * Issue 13, item 3: Redis hangs (SIGSTOP), the client gives up on its calls and the failure
 * policy answers them; then Redis resumes (SIGCONT) and runs every command it was sent
 * meanwhile. A decision its caller was already answered for must not be applied then: no event
 * counted twice, no ban started with no `tripped` event and no action run, no late ban or
 * reset. The oracle: what Redis holds afterwards is exactly what Redis itself decided (plus
 * what the store reports as `late_decisions`, calls that ran in time but whose answer came
 * late), whatever the policy, the clock or the client.
 *
 * After SIGCONT the tests read through the store's own connection, which Redis serves in
 * order: by the time that read is answered, every command sent before it has run. So each
 * test first loads the scripts it uses (a script Redis does not know yet would be sent again
 * as EVAL after its NOSCRIPT answer, i.e. after that read) and connects.
 */

const TIMEOUT_MS = 250;
const SETTLES = 60_000;
/** Decisions in flight at once in the load test. */
const LOOPS = 50;

const bans = (limit: number) => ({
  login: { thresholds: [{ limit, window: 3600, action: [], action_duration: 600 }] },
});

let prefixes = 0;
const prefix = () => `hang${prefixes++}:`;

interface Setup {
  policy?: RedisFailurePolicy;
  limit?: number;
  clock?: ManualClock;
  client?: Redis | Cluster;
  url?: string;
}

function make({ policy = 'fallback', limit = 50, clock, client, url }: Setup) {
  const store = new RedisStore({
    ...(client === undefined ? { url: url! } : { client }),
    prefix: prefix(),
    onFailure: policy,
    timeoutMs: TIMEOUT_MS,
    ...(clock === undefined ? {} : { clock: clock.now }),
  });
  const tripped: TrippedEvent[] = [];
  const hammer = new BanHammer(bans(limit), {
    store,
    returnRates: true,
    ...(clock === undefined ? {} : { clock: clock.now }),
  });
  hammer.on('tripped', (event) => tripped.push(event));
  /** Connected, every script loaded, nothing of the tests' tokens touched. */
  const warm = async () => {
    await hammer.now('warm', 'login');
    await hammer.reset('warm', 'login');
    await hammer.incr('warm', 'login');
    await hammer.settled();
    tripped.length = 0;
  };
  return { store, hammer, tripped, warm };
}

describeWithRedis(
  'RedisStore: a hung Redis that resumes applies nothing it was too late for',
  () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterEach(() => server.thaw());
    afterAll(async () => {
      await server?.stop();
    });

    it(
      'the reproduction: 100 decisions answered by the fallback are not counted again, and Redis starts no silent ban',
      async () => {
        const { store, hammer, tripped, warm } = make({ url: server.url, limit: 50 });
        await warm();
        const redisBefore = store.metrics().decisions;
        for (let i = 0; i < 10; i++) expect((await hammer.incr('t', 'login'))[0]).toBe(true);
        server.freeze();
        const during = await Promise.all(
          Array.from({ length: 100 }, () => hammer.incr('t', 'login')),
        );
        // The fallback decided them with this process's own counts: 50 pass, then it trips.
        expect(during.filter(([passed]) => passed)).toHaveLength(50);
        expect(store.metrics().policy_decisions).toBe(100);
        server.thaw();

        const status = await hammer.status('t', 'login');
        expect(status.token_rate_60m).toBe(10);
        expect(status.bans).toEqual([]);
        // The one trip is the fallback's, announced; Redis started none.
        expect(tripped).toHaveLength(1);
        expect(store.metrics()).toMatchObject({ expired_calls: 1, late_decisions: 0 });
        expect(store.metrics().decisions - redisBefore).toBe(10);
        await hammer.close();
      },
      SETTLES,
    );

    it(
      'property: Redis holds exactly what Redis decided, whatever the policy, clock and client',
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom<RedisFailurePolicy>('fallback', 'failOpen', 'failClosed'),
            fc.integer({ min: 0, max: 20 }),
            fc.integer({ min: 1, max: 150 }),
            fc.integer({ min: 0, max: 20 }),
            fc.integer({ min: 3, max: 60 }),
            fc.boolean(),
            fc.boolean(),
            async (policy, before, during, after, limit, ownClock, ownClient) => {
              // A caller's clock far from the real one: the deadline is about real time.
              const clock = ownClock
                ? new ManualClock(Date.parse('2001-02-03T04:05:06Z'))
                : undefined;
              // ioredis's defaults: an offline queue and retries (the README's old caveat).
              const client = ownClient ? new Redis(server.port, '127.0.0.1') : undefined;
              client?.on('error', () => {});
              const { store, hammer, warm } = make({
                url: server.url,
                policy,
                limit,
                ...(clock === undefined ? {} : { clock }),
                ...(client === undefined ? {} : { client }),
              });
              await warm();
              const redisBefore = store.metrics().decisions;
              for (let i = 0; i < before; i++) await hammer.incr('t', 'login');
              server.freeze();
              await Promise.all(Array.from({ length: during }, () => hammer.incr('t', 'login')));
              server.thaw();
              for (let i = 0; i < after; i++) await hammer.incr('t', 'login');
              const status = await hammer.status('t', 'login');
              const { late_decisions } = store.metrics();
              const decisions = store.metrics().decisions - redisBefore;
              expect(decisions).toBe(before + after);
              // Frozen between calls: no call ran in time to be answered late.
              expect(late_decisions).toBe(0);
              expect(status.token_rate_60m).toBe(decisions + late_decisions);
              // Redis's own ban, if any, is the one its own decisions tripped.
              expect(status.bans.length > 0).toBe(decisions + late_decisions > limit);
              await hammer.close();
              client?.disconnect();
            },
          ),
          { numRuns: 8 },
        );
      },
      SETTLES * 4,
    );

    it(
      'frozen in the middle of a load: what Redis holds is its own decisions plus those it reports as late',
      async () => {
        const { store, hammer, warm } = make({
          url: server.url,
          policy: 'failClosed',
          limit: 100_000,
        });
        await warm();
        const redisBefore = store.metrics().decisions;
        let stop = false;
        const load = async () => {
          while (!stop) await hammer.incr('busy', 'login');
        };
        const running = Promise.all(Array.from({ length: LOOPS }, load));
        while (store.metrics().decisions < 2000) await new Promise((r) => setImmediate(r));
        server.freeze();
        while (store.metrics().policy_decisions < 200) await new Promise((r) => setImmediate(r));
        server.thaw();
        stop = true;
        await running;
        const status = await hammer.status('busy', 'login');
        const { late_decisions } = store.metrics();
        const decisions = store.metrics().decisions - redisBefore;
        expect(status.token_rate_60m).toBe(decisions + late_decisions);
        // Only decisions in flight at the instant of the freeze can have run in time and been
        // answered late: at most one per loop. Every later one reached Redis past its deadline.
        expect(late_decisions).toBeLessThanOrEqual(LOOPS);
        expect(store.metrics().expired_calls).toBeGreaterThan(0);
        await hammer.close();
      },
      SETTLES,
    );

    it(
      'now() during the hang rejects, and the ban is not started when Redis resumes',
      async () => {
        const { store, hammer, tripped, warm } = make({ url: server.url });
        await warm();
        await hammer.incr('b', 'login');
        server.freeze();
        await expect(hammer.now('b', 'login')).rejects.toBeInstanceOf(StoreError);
        server.thaw();
        const status = await hammer.status('b', 'login');
        expect(status.bans).toEqual([]);
        expect(status.blocked_until).toBeNull();
        expect(tripped).toHaveLength(0);
        expect(store.metrics().expired_calls).toBe(1);
        // And a ban asked for in time is started, announced and enforced.
        expect((await hammer.now('b', 'login')).bans).toHaveLength(1);
        expect((await hammer.incr('b', 'login'))[0]).toBe(false);
        await hammer.settled();
        expect(tripped).toHaveLength(1);
        await hammer.close();
      },
      SETTLES,
    );

    it(
      'reset() during the hang rejects, and does not wipe the counts when Redis resumes',
      async () => {
        const { store, hammer, warm } = make({ url: server.url, limit: 5 });
        await warm();
        for (let i = 0; i < 8; i++) await hammer.incr('r', 'login');
        server.freeze();
        await expect(hammer.reset('r', 'login')).rejects.toBeInstanceOf(StoreError);
        server.thaw();
        const status = await hammer.status('r', 'login');
        expect(status.token_rate_60m).toBe(8);
        expect(status.bans).toHaveLength(1);
        expect(store.metrics().expired_calls).toBe(1);
        // A reset in time clears both.
        await hammer.reset('r', 'login');
        expect(await hammer.status('r', 'login')).toMatchObject({ token_rate_60m: 0, bans: [] });
        await hammer.close();
      },
      SETTLES,
    );
  },
);

describeWithRedis('RedisStore on a Cluster: one master hangs and resumes', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  });
  afterEach(() => {
    for (const node of cluster.nodes) node.thaw();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    'each token holds exactly the decisions Redis made for it',
    async () => {
      const client = new Cluster(cluster.startupNodes);
      client.on('error', () => {});
      // failClosed with a high limit: an answer that passes is one Redis decided.
      const { store, hammer, warm } = make({ client, policy: 'failClosed', limit: 100_000 });
      await warm();
      const tokens = Array.from({ length: 30 }, (_, i) => `198.51.100.${i}`);
      const decidedByRedis = new Map<string, number>(tokens.map((token) => [token, 0]));
      const round = async () => {
        const answers = await Promise.all(tokens.map((token) => hammer.incr(token, 'login')));
        answers.forEach(([passed], i) => {
          if (passed) decidedByRedis.set(tokens[i]!, decidedByRedis.get(tokens[i]!)! + 1);
        });
      };
      for (let i = 0; i < 3; i++) await round();
      // Frozen for less than the cluster's node timeout (2 s), so no node marks it failed.
      cluster.nodes[0]!.freeze();
      for (let i = 0; i < 3; i++) await round();
      cluster.nodes[0]!.thaw();
      await round();
      // Some tokens live on the frozen master, some elsewhere.
      const counts = [...decidedByRedis.values()];
      expect(Math.min(...counts)).toBeLessThan(Math.max(...counts));
      // Applied late (ran in time, answered after the deadline): none here, the server was
      // frozen between calls.
      expect(store.metrics().late_decisions).toBe(0);
      for (const token of tokens) {
        expect((await hammer.status(token, 'login')).token_rate_60m, token).toBe(
          decidedByRedis.get(token),
        );
      }
      await hammer.close();
      client.disconnect();
    },
    SETTLES,
  );
});
