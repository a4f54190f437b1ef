/*
 * One suite, run against the three adapters (express, fastify, node:http), each a real server
 * on a free port, driven through fetch: what a user of any of them can count on.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { HitCounter } from '../../src/counter/hit-counter.js';
import { ConfigError } from '../../src/errors.js';
import type { GuardOptions } from '../../src/http/guard.js';
import { IpTracker } from '../../src/tracker/ip-tracker.js';
import { ADAPTERS, type Running } from './servers.js';

const BANS = {
  request: { thresholds: [{ limit: 3, window: 60, action: [], action_duration: 120 }] },
  login_failed: { thresholds: [{ limit: 2, window: 600, action: [], action_duration: 3600 }] },
};

/** Plenty of room on `request`: only what a test trips on purpose refuses anything. */
const ROOMY = {
  ...BANS,
  request: { thresholds: [{ limit: 10_000, window: 60, action: [], action_duration: 120 }] },
};

for (const adapter of ADAPTERS) {
  describe(`hitwarden/${adapter.name}`, () => {
    const running: Running[] = [];
    afterEach(async () => {
      for (const server of running.splice(0)) await server.close();
    });

    async function start(options: GuardOptions<never, never>): Promise<Running> {
      const server = await adapter.start(options);
      running.push(server);
      return server;
    }

    const get = (server: Running, path: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { headers });

    it('refuses past the limit with 429, Retry-After within the ban and the RateLimit fields', async () => {
      const server = await start({ bans: BANS });
      for (let i = 0; i < 3; i++) {
        const response = await get(server, '/hello');
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('hello');
        // Headers on refusals only, by default.
        expect(response.headers.get('ratelimit')).toBeNull();
      }
      const refused = await get(server, '/hello');
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(120);
      expect(refused.headers.get('ratelimit-policy')).toBe('"request.0";q=3;w=60');
      expect(refused.headers.get('ratelimit')).toBe(`"request.0";r=0;t=${retryAfter}`);
      expect(await refused.json()).toEqual({
        error: 'too_many_requests',
        message: 'Too many requests, try again later.',
        retryAfter,
      });
      // The ban holds on every route.
      expect((await get(server, '/items/7')).status).toBe(429);
      expect(server.guard.banHammer.counters.deny_cached).toBeGreaterThan(0);
    });

    it('sends the RateLimit fields on every response with headers: "all"', async () => {
      const server = await start({ bans: BANS, headers: 'all' });
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await get(server, '/hello');
        expect(response.headers.get('ratelimit-policy')).toBe('"request.0";q=3;w=60');
        remaining.push(response.headers.get('ratelimit')!.split(';')[1]!);
      }
      expect(remaining).toEqual(['r=2', 'r=1', 'r=0']);
      expect((await get(server, '/hello')).status).toBe(429);
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      const server = await start({ bans: BANS });
      for (let i = 0; i < 3; i++) {
        expect((await get(server, '/hello', { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(
          200,
        );
      }
      // Every request came from 127.0.0.1, whatever the header said.
      expect((await get(server, '/hello', { 'x-forwarded-for': '198.51.100.99' })).status).toBe(
        429,
      );
      expect(server.guard.tracker!.top(1)).toEqual([{ ip: '127.0.0.1', count: 4 }]);
    });

    it('behind a trusted proxy, each forwarded client is its own token', async () => {
      const server = await start({ bans: BANS, trustProxy: ['127.0.0.1/32'] });
      const as = (client: string) => ({ 'x-forwarded-for': `${client}, 10.9.9.9`.split(', ')[0]! });
      for (let i = 0; i < 4; i++) await get(server, '/hello', as('203.0.113.1'));
      expect((await get(server, '/hello', as('203.0.113.1'))).status).toBe(429);
      expect((await get(server, '/hello', as('203.0.113.2'))).status).toBe(200);
      // Right-most untrusted entry: a client cannot name someone else by prepending.
      expect(
        (await get(server, '/hello', { 'x-forwarded-for': '203.0.113.2, 203.0.113.1' })).status,
      ).toBe(429);
    });

    it('countAfter on a 401 bans the client on every route', async () => {
      const server = await start({
        bans: ROOMY,
        countAfter: (_req: unknown, res: { statusCode: number }) =>
          res.statusCode === 401 ? 'login_failed' : null,
      } as GuardOptions<never, never>);
      const login = (password: string) =>
        fetch(`${server.url}/login`, { method: 'POST', headers: { 'x-password': password } });
      expect((await login('right')).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await login('wrong')).status).toBe(401);
      // countAfter runs once the response has finished: wait for its ban to be in force.
      await waitUntil(
        async () => (await server.guard.banHammer.decide('127.0.0.1', null)).allowed === false,
      );
      expect((await get(server, '/hello')).status).toBe(429);
      expect((await get(server, '/items/1')).status).toBe(429);
      expect((await login('right')).status).toBe(429);
    });

    it('feeds the tracker and the hit counter by route template, refused requests included', async () => {
      const tracker = new IpTracker();
      const counter = new HitCounter();
      const server = await start({ bans: BANS, tracker, counter });
      for (let i = 0; i < 5; i++) await get(server, `/items/${i}`);
      await waitUntil(
        () => counter.query('GET /items/:id', 60) + counter.query('GET (unmatched)', 60) === 5,
      );
      expect(tracker.count('127.0.0.1')).toBe(5);
      // Express answers a refusal before routing: its template is unknown there.
      const routed = counter.query('GET /items/:id', 60);
      expect(routed).toBe(adapter.name === 'express' ? 3 : 5);
      expect(counter.query('GET /items/0', 60)).toBe(0);
    });

    it('skip leaves a request alone; onRefused answers refusals', async () => {
      const server = await start({
        bans: BANS,
        skip: (req: { url?: string }) => req.url === '/hello',
        onRefused: (
          _req: unknown,
          res: unknown,
          refusal: { token: string; retryAfter: number },
        ) => {
          const body = JSON.stringify({ custom: true, token: refusal.token });
          const reply = res as {
            send?: (b: string) => void;
            end?: (b: string) => void;
            type?: (t: string) => void;
          };
          // Each framework's own way to send.
          if (typeof reply.send === 'function') reply.send(body);
          else reply.end!(body);
        },
      } as GuardOptions<never, never>);
      for (let i = 0; i < 10; i++) expect((await get(server, '/hello')).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await get(server, '/items/1')).status).toBe(200);
      const refused = await get(server, '/items/1');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).not.toBeNull();
      expect(JSON.parse(await refused.text())).toEqual({ custom: true, token: '127.0.0.1' });
    });

    it('a shadow threshold trips and is reported, and refuses nothing', async () => {
      const hammer = new BanHammer({
        request: {
          thresholds: [{ limit: 2, window: 60, action: [], action_duration: 120, mode: 'shadow' }],
        },
      });
      const tripped: unknown[] = [];
      hammer.on('tripped', (event) => tripped.push(event));
      const server = await start({ banHammer: hammer });
      for (let i = 0; i < 6; i++) expect((await get(server, '/hello')).status).toBe(200);
      await hammer.settled();
      expect(tripped).toMatchObject([{ token: '127.0.0.1', shadow: true }]);
      expect(hammer.counters).toMatchObject({ shadow_tripped: 1, shadow_refused: 4, refused: 0 });
    });

    it('groups an IPv6 /64 into one client and IPv4-mapped IPv6 with IPv4', async () => {
      const server = await start({ bans: BANS, trustProxy: ['127.0.0.1'] });
      const from = (client: string) => get(server, '/hello', { 'x-forwarded-for': client });
      const statuses: number[] = [];
      for (let i = 0; i < 1000; i++) {
        statuses.push(
          (await from(`2001:db8:1:2:${((i * 7919) & 0xffff).toString(16)}:0:0:${i.toString(16)}`))
            .status,
        );
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3).every((status) => status === 429)).toBe(true);
      expect((await from('2001:db8:1:3::1')).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await from('192.0.2.5')).status).toBe(200);
      expect((await from('::ffff:192.0.2.5')).status).toBe(200);
      expect((await from('::ffff:c000:205')).status).toBe(429);
    });

    it('refuses a bad option or bans config at setup, naming the field', async () => {
      await expect(adapter.start({ bans: BANS, trustProxy: ['10.0.0.0/33'] })).rejects.toThrow(
        ConfigError,
      );
      await expect(
        adapter.start({ bans: BANS, trustProxy: ['10.0.0.0/33'] }),
      ).rejects.toMatchObject({
        path: `hitwarden/${adapter.name}.trustProxy[0]`,
      });
      await expect(
        adapter.start({ bans: { request: { thresholds: [{ limit: -1 }] } } } as never),
      ).rejects.toMatchObject({ path: 'bans.request.thresholds[0].limit' });
      await expect(adapter.start({ bans: BANS, metric: 'nope' })).rejects.toMatchObject({
        path: `hitwarden/${adapter.name}.metric`,
      });
      await expect(adapter.start({ bans: BANS, trustproxy: [] } as never)).rejects.toMatchObject({
        path: `hitwarden/${adapter.name}.trustproxy`,
      });
      await expect(adapter.start({} as never)).rejects.toThrow(ConfigError);
    });

    it('tells onVerdict of every decision with its metric and a duration in ns', async () => {
      const seen: { allowed: boolean; metric: string | null; durationNs: number }[] = [];
      const server = await start({
        bans: BANS,
        onVerdict: (verdict, metric, durationNs) =>
          seen.push({ allowed: verdict.allowed, metric, durationNs }),
        skip: (req: { url?: string }) => req.url === '/items/skipped',
      } as GuardOptions<never, never>);
      for (let i = 0; i < 4; i++) await get(server, '/hello');
      await get(server, '/items/skipped');
      expect(seen.map(({ allowed, metric }) => [allowed, metric])).toEqual([
        [true, 'request'],
        [true, 'request'],
        [true, 'request'],
        [false, 'request'],
      ]);
      for (const { durationNs } of seen) {
        expect(Number.isInteger(durationNs)).toBe(true);
        expect(durationNs).toBeGreaterThanOrEqual(0);
      }
    });

    it('reports an onVerdict that throws through onError, and the request goes on', async () => {
      const errors: unknown[] = [];
      const server = await start({
        bans: BANS,
        onVerdict: () => {
          throw new Error('observer blew up');
        },
        onError: (error: unknown) => errors.push(error),
      } as GuardOptions<never, never>);
      expect((await get(server, '/hello')).status).toBe(200);
      expect(errors).toMatchObject([{ message: 'observer blew up' }]);
    });

    it('goes on, unguarded, when a user callback throws, and says so through onError', async () => {
      const errors: unknown[] = [];
      const server = await start({
        bans: BANS,
        metric: () => {
          throw new Error('metric blew up');
        },
        onError: (error: unknown) => errors.push(error),
      } as GuardOptions<never, never>);
      expect((await get(server, '/hello')).status).toBe(200);
      expect(errors).toMatchObject([{ message: 'metric blew up' }]);
      expect(server.guard.errors).toBe(1);
    });
  });
}

async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
