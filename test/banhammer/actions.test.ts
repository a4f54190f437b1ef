import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { blockLocal, createBlockLocal } from '../../src/banhammer/actions/block-local.js';
import { LocalBlockCache } from '../../src/banhammer/actions/local-block-cache.js';
import { recordLocal } from '../../src/banhammer/actions/record-local.js';
import { ReportCentralError, reportCentral } from '../../src/banhammer/actions/report-central.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import type { ActionErrorEvent } from '../../src/banhammer/events.js';
import { ConfigError } from '../../src/errors.js';
import { ManualClock } from '../../src/time/manual-clock.js';

const START = Date.parse('2026-03-01T12:00:00Z');

/** A BanHammer whose one threshold trips on the second event and runs `actions`. */
function hammerWith(
  actions: Action[],
  options: { actionTimeoutMs?: number; maxPendingActions?: number } = {},
) {
  const clock = new ManualClock(START);
  const hammer = new BanHammer(
    {
      login_failed: {
        thresholds: [{ limit: 1, window: 60, action: actions, action_duration: 120 }],
      },
    },
    { clock: clock.now, ...options },
  );
  const errors: ActionErrorEvent[] = [];
  hammer.on('action_error', (event) => errors.push(event));
  return { hammer, clock, errors };
}

describe('action isolation', () => {
  it('runs actions after the decision, and a throwing, rejecting or hanging one hurts nothing', async () => {
    const good: string[] = [];
    const throwing: Action = function throwing() {
      throw new Error('boom');
    };
    const rejecting: Action = async function rejecting() {
      throw new Error('nope');
    };
    const hanging: Action = function hanging() {
      return new Promise(() => {});
    };
    const fine: Action = function fine(token) {
      good.push(token);
    };
    const { hammer, errors } = hammerWith([throwing, rejecting, hanging, fine], {
      actionTimeoutMs: 50,
    });
    expect(await hammer.incr('a', 'login_failed')).toBe(true);
    expect(await hammer.incr('a', 'login_failed')).toBe(false);
    // The decision came back before any action started.
    expect(good).toEqual([]);
    await hammer.settled();
    expect(good).toEqual(['a']);
    expect(errors.map((e) => [e.action, e.reason]).sort()).toEqual([
      ['hanging', 'timeout'],
      ['rejecting', 'rejected'],
      ['throwing', 'threw'],
    ]);
    expect(
      errors.every((e) => e.token === 'a' && e.metric === 'login_failed' && e.threshold === 0),
    ).toBe(true);
    expect(hammer.counters).toMatchObject({ action_errors: 3, action_timeouts: 1, actions_run: 4 });
    // Later decisions are unaffected.
    expect(await hammer.incr('b', 'login_failed')).toBe(true);
  });

  it('survives a listener that throws and a hostile thenable', async () => {
    const hostile: Action = function hostile() {
      return {
        // biome-ignore lint/suspicious/noThenProperty: the point is a hostile thenable.
        get then() {
          throw new Error('trap');
        },
      };
    };
    const { hammer, errors } = hammerWith([hostile]);
    hammer.on('tripped', () => {
      throw new Error('listener bug');
    });
    await hammer.incr('a', 'login_failed');
    expect(await hammer.incr('a', 'login_failed')).toBe(false);
    await hammer.settled();
    expect(errors.map((e) => e.reason)).toEqual(['rejected']);
  });

  it('drops actions past maxPendingActions and reports them', async () => {
    const hanging: Action = function hanging() {
      return new Promise(() => {});
    };
    const { hammer, errors } = hammerWith([hanging], { actionTimeoutMs: 30, maxPendingActions: 2 });
    await hammer.incr('a', 'login_failed');
    for (let i = 0; i < 4; i++) expect(await hammer.incr('a', 'login_failed')).toBe(false);
    await hammer.settled();
    // The two drops come as one report that counts them.
    const reasons = errors.map((e) => [e.reason, e.count]).sort();
    expect(reasons).toEqual([
      ['overloaded', 2],
      ['timeout', 1],
      ['timeout', 1],
    ]);
    expect(hammer.counters.actions_dropped).toBe(2);
  });
});

describe('blockLocal', () => {
  it("is left out of the actions a BanHammer runs: decide fills the BanHammer's own deny cache", async () => {
    const { hammer, clock } = hammerWith([blockLocal]);
    const other = hammerWith([blockLocal]).hammer;
    expect((await hammer.decide('203.0.113.5', 'login_failed')).allowed).toBe(true);
    expect(hammer.denyCache.isBlocked('203.0.113.5')).toBe(false);
    const refused = await hammer.decide('203.0.113.5', 'login_failed');
    expect(refused).toMatchObject({ allowed: false, by: 'counted', retryAfterMs: 120_000 });
    // Cached at the decision itself, not a turn later by an action.
    expect(hammer.denyCache.retryAfter('203.0.113.5')).toBe(120);
    await hammer.settled();
    expect(hammer.counters.actions_run).toBe(0);
    // No process-wide cache: another BanHammer knows nothing of this ban.
    expect(other.denyCache.isBlocked('203.0.113.5')).toBe(false);
    clock.advance(60);
    expect(await hammer.decide('203.0.113.5', 'login_failed')).toMatchObject({
      allowed: false,
      by: 'cached',
      retryAfterMs: 60_000,
    });
    expect(blockLocal('203.0.113.5', 60, 'login_failed', 60, 1)).toBeUndefined();
  });

  it('expires on its own clock and stays bounded', () => {
    const clock = new ManualClock(0);
    const cache = new LocalBlockCache({ clock: clock.now, maxEntries: 3 });
    const block = createBlockLocal(cache);
    block('__proto__', 10, 'm', 60, 1);
    expect(cache.isBlocked('__proto__')).toBe(true);
    expect(cache.retryAfter('__proto__')).toBe(10);
    clock.advance(10);
    expect(cache.isBlocked('__proto__')).toBe(false);
    for (let i = 0; i < 10; i++) cache.block(`t${i}`, 60);
    expect(cache.size).toBe(3);
    expect(cache.isBlocked('t9')).toBe(true);
    expect(cache.isBlocked('t0')).toBe(false);
    cache.unblock('t9');
    expect(cache.isBlocked('t9')).toBe(false);
  });
});

describe('recordLocal', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per event, creating the directory', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hitwarden-record-'));
    const path = join(dir, 'nested', 'bans.jsonl');
    const { hammer, clock, errors } = hammerWith([recordLocal({ path, clock: () => START })]);
    await hammer.incr('198.51.100.7', 'login_failed');
    await hammer.incr('198.51.100.7', 'login_failed');
    clock.advance(1);
    await hammer.incr('198.51.100.7', 'login_failed');
    await hammer.settled();
    expect(errors).toEqual([]);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toEqual({
      at: new Date(START).toISOString(),
      token: '198.51.100.7',
      metric: 'login_failed',
      window: 60,
      limit: 1,
      duration: 120,
    });
  });

  it('reports a failed write as an action_error and keeps going', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hitwarden-record-'));
    // The path is a directory: appending to it fails.
    const { hammer, errors } = hammerWith([recordLocal({ path: dir })]);
    await hammer.incr('a', 'login_failed');
    await hammer.incr('a', 'login_failed');
    await hammer.incr('a', 'login_failed');
    await hammer.settled();
    expect(errors.map((e) => e.reason)).toEqual(['rejected', 'rejected']);
  });

  it('rejects a bad path at configuration time', () => {
    expect(() => recordLocal({ path: '' })).toThrow(ConfigError);
    expect(() => recordLocal({ path: 42 as unknown as string })).toThrow('recordLocal.path');
  });
});

describe('reportCentral', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  /** A server on 127.0.0.1 that answers the n-th request with `plan[n]`. */
  async function serve(plan: ('fail' | 'hang' | 'ok' | 'reject')[]) {
    const bodies: unknown[] = [];
    let n = 0;
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const step = plan[Math.min(n++, plan.length - 1)]!;
      let text = '';
      request.on('data', (chunk) => {
        text += chunk;
      });
      request.on('end', () => {
        bodies.push({
          method: request.method,
          type: request.headers['content-type'],
          body: JSON.parse(text),
        });
        if (step === 'hang') return;
        response.statusCode = step === 'ok' ? 204 : step === 'reject' ? 400 : 500;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/report`, bodies };
  }

  it('retries through a failure and a hang, then succeeds', async () => {
    const { url, bodies } = await serve(['fail', 'hang', 'ok']);
    // The hang costs one full timeout; it is generous so that a busy machine cannot time out
    // the attempt that should succeed.
    const action = reportCentral({
      url,
      timeoutMs: 1000,
      retries: 2,
      backoffMs: 5,
      clock: () => START,
    });
    const { hammer, errors } = hammerWith([action]);
    await hammer.incr('192.0.2.1', 'login_failed');
    expect(await hammer.incr('192.0.2.1', 'login_failed')).toBe(false);
    await hammer.settled();
    expect(errors).toEqual([]);
    expect(bodies).toHaveLength(3);
    expect(bodies[2]).toEqual({
      method: 'POST',
      type: 'application/json',
      body: {
        at: new Date(START).toISOString(),
        token: '192.0.2.1',
        metric: 'login_failed',
        window: 60,
        limit: 1,
        duration: 120,
      },
    });
  });

  it('gives up after its retries and reports an action_error', async () => {
    const { url, bodies } = await serve(['fail']);
    const { hammer, errors } = hammerWith([
      reportCentral({ url, timeoutMs: 200, retries: 2, backoffMs: 1 }),
    ]);
    await hammer.incr('a', 'login_failed');
    await hammer.incr('a', 'login_failed');
    await hammer.settled();
    expect(bodies).toHaveLength(3);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toBeInstanceOf(ReportCentralError);
    expect((errors[0]!.error as ReportCentralError).attempts).toBe(3);
  });

  it('does not retry a request the server refuses (4xx)', async () => {
    const { url, bodies } = await serve(['reject', 'ok']);
    const { hammer, errors } = hammerWith([reportCentral({ url, retries: 3, backoffMs: 1 })]);
    await hammer.incr('a', 'login_failed');
    await hammer.incr('a', 'login_failed');
    await hammer.settled();
    expect(bodies).toHaveLength(1);
    expect(errors.map((e) => e.reason)).toEqual(['rejected']);
  });

  it('rejects bad options at configuration time', () => {
    expect(() => reportCentral({ url: 'not a url' })).toThrow('reportCentral.url');
    expect(() => reportCentral({ url: 'ftp://example.com/' })).toThrow(ConfigError);
    expect(() => reportCentral({ url: 'http://127.0.0.1/', timeoutMs: 0 })).toThrow(
      'reportCentral.timeoutMs',
    );
    expect(() => reportCentral({ url: 'http://127.0.0.1/', retries: -1 })).toThrow(
      'reportCentral.retries',
    );
    expect(
      reportCentral({ url: 'http://127.0.0.1/', timeoutMs: 100, retries: 1, backoffMs: 10 })
        .timeoutMs,
    ).toBe(1000 + 100 + 100 + 10);
  });
});
