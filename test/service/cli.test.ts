import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, RedisServer } from '../support/redis-server.js';
import { describeWithRedis } from '../support/redis-suite.js';
import { BIN, json, login, type Running, spawnServe, startService, waitUntil } from './support.js';

/*
 * `hitwarden serve` and the admin commands as a user runs them: the built CLI in a child
 * process, its exit codes, its output, and its one-line messages.
 */

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI, asynchronously: the service it talks to may be in this very process. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, HITWARDEN_URL: '', HITWARDEN_ADMIN_TOKEN: '', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const oneLine = (text: string) => {
  expect(text.trim().split('\n')).toHaveLength(1);
  expect(text).not.toMatch(/\n\s+at /);
};

describe('hitwarden serve', () => {
  it('starts, prints the dashboard URL, logs JSON, and exits 0 on SIGTERM', async () => {
    const served = await spawnServe([], { HITWARDEN_ADMIN_TOKEN: 'from-the-env' });
    const { body } = await json(`${served.url}/api/config`);
    expect(body).toMatchObject({ admin: true, store: 'memory', demo: false });
    expect(body.metrics.login_failed).toHaveLength(3); // the bundled example
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const logs = served
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    expect(logs.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining(['listening', 'draining', 'stopped']),
    );
    expect(served.stderr()).toMatch(/^hitwarden serve: dashboard at http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('drains on SIGINT too, with the demo traffic running', async () => {
    const served = await spawnServe(['--demo-traffic', '--log-level', 'warn']);
    await waitUntil(async () => (await json(`${served.url}/api/top`)).body.total > 0);
    served.child.kill('SIGINT');
    expect(await served.exited).toBe(0);
  });

  it('refuses a bans file that does not validate: one line naming the path, exit 2', async () => {
    const file = join(tmpdir(), `hitwarden-bad-bans-${process.pid}.yaml`);
    writeFileSync(file, 'login_failed:\n  thresholds:\n    - { limit: 5, window: -1 }\n');
    const result = await cli(['serve', '--bans', file]);
    expect(result.code).toBe(2);
    oneLine(result.stderr);
    expect(result.stderr).toContain(`${file}: bans.login_failed.thresholds[0].window`);
    const missing = await cli(['serve', '--bans', '/nonexistent/bans.yaml']);
    expect(missing.code).toBe(2);
    oneLine(missing.stderr);
    const json = join(tmpdir(), `hitwarden-bad-bans-${process.pid}.json`);
    writeFileSync(json, '{"login_failed": ');
    const broken = await cli(['serve', '--bans', json]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('not valid JSON');
  });

  it('exits 2 for bad flags and 1 for a port it cannot have', async () => {
    for (const args of [
      ['serve', '--port', 'eighty'],
      ['serve', '--trust-proxy', '10.0.0.0/99'],
      ['serve', '--redis', 'http://x'],
      ['serve', '--log-level', 'loud'],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
    }
    const served = await spawnServe([]);
    const port = new URL(served.url).port;
    const taken = await cli(['serve', '--port', port]);
    expect(taken.code).toBe(1);
    oneLine(taken.stderr);
    expect(taken.stderr).toContain('cannot listen');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });
});

describe('the admin commands against a running service', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startService({ adminToken: 'cli-token' });
  });
  afterAll(() => server.close());

  it('bans, lists, shows and lifts, as a table, JSON or CSV', async () => {
    const url = ['--url', server.url];
    const token = { HITWARDEN_ADMIN_TOKEN: 'cli-token' };
    const added = await cli(
      [
        'bans',
        'add',
        '192.0.2.44',
        '--metric',
        'login_failed',
        '--threshold',
        '1',
        '--json',
        ...url,
      ],
      token,
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ token: '192.0.2.44', threshold: 1 });

    const listed = await cli(['bans', 'list', '--json', ...url]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ token: '192.0.2.44', metric: 'login_failed', threshold: 1 }),
    ]);
    const table = await cli(['bans', 'list', ...url]);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^token\s+metric\s+threshold\s+until\s+remaining_s$/,
    );
    expect(table.stdout).toContain('192.0.2.44');
    const csv = await cli(['bans', 'list', '--csv', ...url]);
    expect(csv.stdout.split('\n')[0]).toBe('token,metric,threshold,until,remaining_s');

    const status = await cli(['status', '192.0.2.44', '--json', ...url]);
    expect(JSON.parse(status.stdout)).toMatchObject({ token: '192.0.2.44', banned: true });

    await fetch(`${server.url}/hello`);
    const top = await cli(['top', '-n', '5', '--json', ...url]);
    expect(JSON.parse(top.stdout).rows[0]).toMatchObject({ ip: '127.0.0.1', count: 1 });

    const removed = await cli(['bans', 'remove', '192.0.2.44', ...url], token);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/192\.0\.2\.44\s+true/);
    expect(JSON.parse((await cli(['bans', 'list', '--json', ...url])).stdout)).toEqual([]);
  });

  it('exits 2 without the admin token or with a bad request, 1 for a wrong token', async () => {
    const url = ['--url', server.url];
    const none = await cli(['bans', 'add', '192.0.2.1', '--metric', 'request', ...url]);
    expect(none.code).toBe(2);
    oneLine(none.stderr);
    expect(none.stderr).toContain('HITWARDEN_ADMIN_TOKEN');
    const wrong = await cli(['bans', 'remove', '192.0.2.1', ...url], {
      HITWARDEN_ADMIN_TOKEN: 'nope',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('401');
    const metric = await cli(['bans', 'add', '192.0.2.1', '--metric', 'nope', ...url], {
      HITWARDEN_ADMIN_TOKEN: 'cli-token',
    });
    expect(metric.code).toBe(2);
    for (const args of [
      ['top', '--json', '--csv', ...url],
      ['top', '-n', '0', ...url],
      ['bans', 'add', '192.0.2.1', ...url],
      ['bans', 'frobnicate'],
      ['status'],
      ['top', '--url', 'ftp://x'],
    ]) {
      expect((await cli(args)).code, args.join(' ')).toBe(2);
    }
  });

  it('says so in one line, exit 1, when the service is unreachable', async () => {
    const port = await freePort();
    const result = await cli(['top', '--url', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    oneLine(result.stderr);
    expect(result.stderr).toBe(
      `hitwarden: cannot reach the service at http://127.0.0.1:${port} (ECONNREFUSED)\n`,
    );
  });
});

describeWithRedis('hitwarden serve --redis and the admin commands on Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis.stop());

  it('bans in Redis; bans list and remove --redis see and lift them, and the service lets the client go', async () => {
    const served = await spawnServe(['--redis', redis.url, '--log-level', 'warn']);
    try {
      expect((await json(`${served.url}/api/config`)).body.store).toBe('redis');
      for (let i = 0; i < 6; i++) await login(served.url, 'wrong');
      await waitUntil(async () => (await json(`${served.url}/api/status/127.0.0.1`)).body.banned);
      const refused = await login(served.url, 'wrong');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).not.toBeNull();

      const listed = await cli(['bans', 'list', '--redis', redis.url, '--json']);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({ token: '127.0.0.1', metric: 'login_failed', threshold: 0 }),
      ]);
      const status = await cli(['status', '127.0.0.1', '--redis', redis.url, '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ banned: true });
      expect((await cli(['top', '--redis', redis.url])).code).toBe(2);

      const removed = await cli(['bans', 'remove', '127.0.0.1', '--redis', redis.url]);
      expect(removed.code).toBe(0);
      // The lift reaches the service's deny cache through Redis.
      await waitUntil(async () => (await fetch(`${served.url}/hello`)).status === 200);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('says so in one line, exit 1, when Redis is unreachable', async () => {
    const port = await freePort();
    const result = await cli(['bans', 'list', '--redis', `redis://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    oneLine(result.stderr);
    expect(result.stderr).toContain('cannot reach Redis');
  });
});
