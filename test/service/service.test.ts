import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { json, login, parsePrometheus, type Running, startService, waitUntil } from './support.js';

/*
 * `hitwarden serve`'s HTTP contract (docs/service-api.md), on a real server on a free port,
 * driven through fetch only.
 */

const running: Running[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});
async function start(options: Parameters<typeof startService>[0] = {}): Promise<Running> {
  const server = await startService(options);
  running.push(server);
  return server;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the demo routes behind the guard', () => {
  it('climbs the login tiers: 401s, then 429 with Retry-After and the RateLimit fields, then a longer ban', async () => {
    const { url } = await start();
    for (let i = 0; i < 3; i++) expect((await login(url, 'wrong')).status).toBe(401);
    // The third failure tripped tier 0 (more than 2 in 60 s) once its response had gone.
    await waitUntil(async () => (await json(`${url}/api/status/127.0.0.1`)).body.banned === true);
    const refused = await login(url, 'wrong');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(1);
    expect(refused.headers.get('ratelimit-policy')).toBe('"request.0";q=1000;w=60');
    expect(refused.headers.get('ratelimit')).toBe(`"request.0";r=0;t=${retryAfter}`);
    expect(await refused.json()).toMatchObject({ error: 'too_many_requests', retryAfter });
    // A ban is on the token: every guarded route refuses it.
    expect((await fetch(`${url}/hello`)).status).toBe(429);
    // The API is not guarded: an operator is never locked out.
    expect((await fetch(`${url}/api/top`)).status).toBe(200);

    // Tier 0 lasts a second; the attacker goes on and climbs to tier 1 (more than 4 in 60 s).
    await sleep(1100);
    expect((await login(url, 'wrong')).status).toBe(401);
    await waitUntil(async () => (await json(`${url}/api/status/127.0.0.1`)).body.banned === true);
    await sleep(1100);
    expect((await login(url, 'wrong')).status).toBe(401);
    await waitUntil(async () => {
      const { body } = await json(`${url}/api/status/127.0.0.1`);
      return body.metrics.login_failed.bans.some(
        (ban: { threshold: number }) => ban.threshold === 1,
      );
    });
    const longer = await fetch(`${url}/hello`);
    expect(longer.status).toBe(429);
    expect(Number(longer.headers.get('retry-after'))).toBeGreaterThan(50);
    const { body: trips } = await json(`${url}/api/trips`);
    expect(trips.trips[0]).toMatchObject({
      token: '127.0.0.1',
      metric: 'login_failed',
      threshold: 1,
      shadow: false,
      manual: false,
      duration: 60,
    });
  });

  it('answers the right password with 200 and counts login_successful', async () => {
    const { url } = await start();
    const response = await login(url, 'hitwarden');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    await waitUntil(
      async () =>
        (await json(`${url}/api/status/127.0.0.1`)).body.metrics.login_successful.token_rate_1m ===
        1,
    );
  });

  it('gives malformed bodies 400 and unknown routes 404, as JSON', async () => {
    const { url } = await start({ adminToken: 'secret-token' });
    const bad = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username": ',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request' });
    const shape = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1, 2]',
    });
    expect(shape.status).toBe(400);
    const text = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(400);
    const admin = await fetch(`${url}/admin/bans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer secret-token' },
      body: '{"token": 5}',
    });
    expect(admin.status).toBe(400);
    expect(((await admin.json()) as { error: string }).error).toBe('bad_request');
    for (const path of ['/nope', '/api/nope', '/products', '/assets/none.js']) {
      const missing = await fetch(`${url}${path}`);
      expect(missing.status, path).toBe(404);
      expect(((await missing.json()) as { error: string }).error).toBe('not_found');
    }
    for (const path of [
      '/api/top?n=0',
      '/api/top?n=abc',
      '/api/rates?windows=0',
      '/api/series?seconds=99999',
      '/api/bans?cursor=nope',
    ]) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('bad_request');
    }
  });
});

describe('client addresses', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const { url } = await start();
    for (let i = 0; i < 3; i++)
      await fetch(`${url}/hello`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
    const { body } = await json(`${url}/api/top`);
    expect(body.rows).toEqual([{ ip: '127.0.0.1', count: 3, share: 1, banned: false }]);
    expect(body).toMatchObject({ total: 3, size: 1 });
  });

  it('counts each forwarded client as itself behind a trusted proxy', async () => {
    const { url } = await start({ trustProxy: ['127.0.0.1'] });
    for (const [client, times] of [
      ['198.51.100.7', 3],
      ['198.51.100.8', 1],
    ] as const) {
      for (let i = 0; i < times; i++) {
        await fetch(`${url}/hello`, { headers: { 'x-forwarded-for': `203.0.113.250, ${client}` } });
      }
    }
    // A forwarded client climbs its own tiers: the proxy is not banned.
    for (let i = 0; i < 3; i++) await login(url, 'wrong', { 'x-forwarded-for': '198.51.100.9' });
    await waitUntil(
      async () => (await json(`${url}/api/status/198.51.100.9`)).body.banned === true,
    );
    expect(
      (await fetch(`${url}/hello`, { headers: { 'x-forwarded-for': '198.51.100.9' } })).status,
    ).toBe(429);
    expect((await fetch(`${url}/hello`)).status).toBe(200);
    const { body } = await json(`${url}/api/top`);
    // Count descending, ties by address ascending.
    expect(body.rows.map((row: { ip: string; count: number }) => [row.ip, row.count])).toEqual([
      ['198.51.100.9', 4],
      ['198.51.100.7', 3],
      ['127.0.0.1', 1],
      ['198.51.100.8', 1],
    ]);
  });
});

describe('the admin API', () => {
  it('answers 403 and says how to turn it on when no token is configured', async () => {
    const { url } = await start();
    for (const [method, path] of [
      ['POST', '/admin/bans'],
      ['DELETE', '/admin/bans/1.2.3.4'],
      ['POST', '/admin/reset'],
    ] as const) {
      const { status, body } = await json(`${url}${path}`, {
        method,
        headers: { authorization: 'Bearer anything' },
      });
      expect(status).toBe(403);
      expect(body).toEqual({
        error: 'forbidden',
        message:
          'admin routes are off: start the service with --admin-token or HITWARDEN_ADMIN_TOKEN',
      });
    }
    expect((await json(`${url}/api/config`)).body.admin).toBe(false);
  });

  it('refuses a missing or wrong token with 401, and bans, lists, lifts and resets with the right one', async () => {
    const { url } = await start({ adminToken: 'the-right-token' });
    const ban = (authorization?: string) =>
      fetch(`${url}/admin/bans`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: JSON.stringify({ token: '203.0.113.9', metric: 'login_failed', threshold: 1 }),
      });
    for (const header of [
      undefined,
      'Bearer wrong',
      'Bearer the-right-token-and-more',
      'Basic the-right-token',
      'Bearer',
    ]) {
      const refused = await ban(header);
      expect(refused.status, String(header)).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await refused.json()) as { error: string }).error).toBe('unauthorized');
    }
    const before = Date.now();
    const made = await ban('Bearer the-right-token');
    expect(made.status).toBe(201);
    const body = (await made.json()) as { until: number };
    expect(body).toMatchObject({ token: '203.0.113.9', metric: 'login_failed', threshold: 1 });
    expect(body.until).toBeGreaterThanOrEqual(before + 59_000);

    const { body: page } = await json(`${url}/api/bans`);
    expect(page.next).toBeNull();
    expect(page.bans).toHaveLength(1);
    expect(page.bans[0]).toMatchObject({
      token: '203.0.113.9',
      metric: 'login_failed',
      threshold: 1,
      until: body.until,
    });
    expect(page.bans[0].remaining_ms).toBeGreaterThan(50_000);
    const { body: trips } = await json(`${url}/api/trips`);
    expect(trips.trips[0]).toMatchObject({ token: '203.0.113.9', manual: true, threshold: 1 });

    const unknown = await fetch(`${url}/admin/bans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer the-right-token' },
      body: JSON.stringify({ token: '203.0.113.9', metric: 'login_failed', threshold: 7 }),
    });
    expect(unknown.status).toBe(400);

    const lifted = await json(`${url}/admin/bans/203.0.113.9`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer the-right-token' },
    });
    expect(lifted).toEqual({ status: 200, body: { token: '203.0.113.9', lifted: true } });
    expect((await json(`${url}/api/bans`)).body.bans).toEqual([]);
    expect((await json(`${url}/api/status/203.0.113.9`)).body.banned).toBe(false);

    await fetch(`${url}/hello`);
    expect((await json(`${url}/api/top`)).body.total).toBe(1);
    const reset = await json(`${url}/admin/reset`, {
      method: 'POST',
      headers: { authorization: 'Bearer the-right-token' },
    });
    expect(reset).toEqual({ status: 200, body: { reset: true } });
    expect((await json(`${url}/api/top`)).body).toMatchObject({ total: 0, size: 0, rows: [] });
    expect((await json(`${url}/api/trips`)).body.trips).toEqual([]);
  });

  it('pages /api/bans with a cursor, each ban once', async () => {
    const { url } = await start({ adminToken: 't0ken' });
    const tokens = Array.from({ length: 7 }, (_, i) => `192.0.2.${i + 1}`);
    for (const token of tokens) {
      await fetch(`${url}/admin/bans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken' },
        body: JSON.stringify({ token, metric: 'request' }),
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const { body } = await json(`${url}/api/bans?limit=3${query}`);
      expect(body.bans.length).toBeLessThanOrEqual(3);
      seen.push(...body.bans.map((row: { token: string }) => row.token));
      cursor = body.next;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...tokens].sort());
  });
});

describe('the read-only API', () => {
  it('reports rates per route template, the series, and the config', async () => {
    const { url } = await start();
    await fetch(`${url}/hello`);
    await fetch(`${url}/products/1`);
    await fetch(`${url}/products/2`);
    await fetch(`${url}/nowhere`);
    const { body: rates } = await json(`${url}/api/rates?windows=60,600`);
    expect(rates.windows).toEqual([60, 600]);
    const counts = Object.fromEntries(
      rates.routes.map((row: { route: string; counts: number[] }) => [row.route, row.counts]),
    );
    expect(counts['GET /hello']).toEqual([1, 1]);
    expect(counts['GET /products/:id']).toEqual([2, 2]);
    expect(counts['GET (unmatched)']).toEqual([1, 1]);
    expect(counts['POST /login']).toEqual([0, 0]);
    expect(Object.keys(counts).some((route) => route.includes('/api'))).toBe(false);
    const one = await json(`${url}/api/rates?route=${encodeURIComponent('GET /hello')}`);
    expect(one.body.routes).toEqual([{ route: 'GET /hello', counts: [1, 1, 1] }]);

    // The series gets the second once it has ended.
    await waitUntil(async () => {
      const { body } = await json(`${url}/api/series?seconds=5`);
      return body.routes.some((row: { route: string }) => row.route === 'GET /products/:id');
    }, 4000);
    const { body: series } = await json(`${url}/api/series?seconds=5`);
    expect(series.step).toBe(1);
    expect(series.start % 1000).toBe(0);
    const products = series.routes.find(
      (row: { route: string }) => row.route === 'GET /products/:id',
    );
    expect(products.points).toHaveLength(5);
    expect(products.points.reduce((a: number, b: number) => a + b, 0)).toBe(2);

    const { body: config } = await json(`${url}/api/config`);
    expect(config).toMatchObject({
      admin: false,
      store: 'memory',
      demo: false,
      version: expect.any(String),
    });
    expect(config.metrics.login_failed).toEqual([
      { limit: 2, window: 60, duration: 1, mode: 'enforce' },
      { limit: 4, window: 60, duration: 60, mode: 'enforce' },
    ]);
  });

  it('serves /metrics as Prometheus text with the families it promises, no label per client', async () => {
    const { url } = await start();
    for (let i = 0; i < 3; i++) await login(url, 'wrong');
    await waitUntil(async () => (await json(`${url}/api/status/127.0.0.1`)).body.banned === true);
    await fetch(`${url}/hello`);
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(await response.text());
    const expected: Record<string, string> = {
      hitwarden_decisions_total: 'counter',
      hitwarden_refusals_total: 'counter',
      hitwarden_trips_total: 'counter',
      hitwarden_active_bans: 'gauge',
      hitwarden_action_errors_total: 'counter',
      hitwarden_store_errors_total: 'counter',
      hitwarden_failure_policy_decisions_total: 'counter',
      hitwarden_tracker_addresses: 'gauge',
      hitwarden_hit_counter_keys: 'gauge',
      hitwarden_decision_duration_seconds: 'histogram',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(families.get(name)?.type, name).toBe(type);
    }
    const samples = [...families.values()].flatMap((family) => family.samples);
    const value = (name: string, labels: Record<string, string>) =>
      samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value;
    expect(value('hitwarden_decisions_total', { metric: 'request', result: 'allowed' })).toBe(3);
    expect(value('hitwarden_decisions_total', { metric: 'request', result: 'refused' })).toBe(1);
    expect(value('hitwarden_trips_total', { metric: 'login_failed', tier: '0' })).toBe(1);
    expect(value('hitwarden_active_bans', { metric: 'login_failed' })).toBe(1);
    expect(value('hitwarden_tracker_addresses', {})).toBe(1);
    expect(value('hitwarden_decision_duration_seconds_count', { metric: 'request' })).toBe(4);
    // No label anywhere holds an address.
    for (const family of families.values()) {
      for (const sample of family.samples) {
        for (const label of Object.values(sample.labels)) expect(label).not.toContain('127.0.0.1');
      }
    }
  });
});

describe('the live stream', () => {
  it('sends retry, then a full snapshot, then one new point per route each second', async () => {
    const { url } = await start();
    await fetch(`${url}/hello`);
    const response = await fetch(`${url}/api/stream`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const events: any[] = [];
    while (events.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (events.length === 0 && block.startsWith('retry:')) expect(block).toBe('retry: 2000');
        const data = /^event: snapshot\ndata: (.*)$/s.exec(block);
        if (data !== null) events.push(JSON.parse(data[1]!));
        end = buffer.indexOf('\n\n');
      }
    }
    await reader.cancel();
    const [first, second] = events;
    expect(first.top).toMatchObject({ total: 1, rows: [{ ip: '127.0.0.1', count: 1 }] });
    expect(first.bans).toEqual({ bans: [], next: null });
    expect(Array.isArray(first.trips)).toBe(true);
    for (const row of first.series.routes) expect(row.points).toHaveLength(300);
    expect(second.series.step).toBe(1);
    for (const row of second.series.routes) expect(row.points).toHaveLength(1);
    expect(second.time).toBeGreaterThanOrEqual(first.time);
  });
});

describe('the dashboard files', () => {
  const web = mkdtempSync(join(tmpdir(), 'hitwarden-web-'));
  afterAll(() => rmSync(web, { recursive: true, force: true }));

  it('serves a placeholder at / when the dashboard is not built', async () => {
    const { url } = await start({ webRoot: join(web, 'missing') });
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('dashboard is not built');
  });

  it('serves index.html and assets with an ETag, and nothing outside the folder', async () => {
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>dash</title>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(tmpdir(), 'hitwarden-secret.txt'), 'secret');
    const { url } = await start({ webRoot: web });
    const index = await fetch(`${url}/`);
    expect(await index.text()).toContain('<title>dash</title>');
    const asset = await fetch(`${url}/assets/app.js`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = asset.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect(
      (await fetch(`${url}/assets/app.js`, { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    for (const path of [
      '/assets/../index.html',
      '/assets/%2e%2e/%2e%2e/hitwarden-secret.txt',
      '/assets/.hidden',
    ]) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    }
  });
});

describe('demo traffic', () => {
  it('sends Zipf clients and brute-force attackers through the real request path', async () => {
    const { url, service } = await start({ demoTraffic: { rate: 100, attackers: 3 } });
    await waitUntil(async () => {
      const { body } = await json(`${url}/api/trips`);
      return body.trips.some((trip: { metric: string }) => trip.metric === 'login_failed');
    }, 10_000);
    const { body: top } = await json(`${url}/api/top`);
    expect(top.size).toBeGreaterThan(10);
    expect(top.total).toBeGreaterThan(50);
    const { body: rates } = await json(`${url}/api/rates?windows=60`);
    const routes = rates.routes.map((row: { route: string }) => row.route);
    expect(routes).toEqual(
      expect.arrayContaining(['GET /hello', 'GET /products/:id', 'GET /search', 'POST /login']),
    );
    const { body: bans } = await json(`${url}/api/bans`);
    expect(
      bans.bans.some((row: { token: string }) => /^(198\.51\.100|203\.0\.113)\./.test(row.token)),
    ).toBe(true);
    expect(service.demo!.sent).toBeGreaterThan(50);
  });
});
