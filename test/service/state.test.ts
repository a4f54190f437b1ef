import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, login, spawnServeCleanedUp, waitUntil } from './support.js';

/*
 * `hitwarden serve --state DIR` as a user runs it: counts and bans survive a SIGTERM restart
 * exactly; after a SIGKILL at most the requests since the last save are lost; a damaged file
 * is refused loudly and the previous generation (or nothing) used.
 */

const root = mkdtempSync(join(tmpdir(), 'hitwarden-serve-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spawnServe = spawnServeCleanedUp();

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

async function hits(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await (await fetch(`${url}/hello`)).arrayBuffer();
}

const topOf = async (url: string) =>
  (await json(`${url}/api/top?n=10`)).body.rows as { ip: string; count: number }[];

describe('hitwarden serve --state', () => {
  it('keeps counts and bans exactly across a SIGTERM restart', async () => {
    const dir = join(root, 'term');
    const first = await spawnServe(['--state', dir]);
    await hits(first.url, 25);
    for (let i = 0; i < 7; i++) await (await login(first.url, 'wrong')).arrayBuffer();
    const top = await topOf(first.url);
    const bans = (await json(`${first.url}/api/bans`)).body;
    expect(top[0]!.count).toBe(32);
    expect(bans.bans.length).toBeGreaterThan(0);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await spawnServe(['--state', dir]);
    expect(await topOf(second.url)).toEqual(top);
    const restoredBans = (await json(`${second.url}/api/bans`)).body;
    // The same bans to the millisecond (remaining_ms is the time left, which ran on meanwhile).
    const without = (list: { remaining_ms: number }[]) =>
      list.map(({ remaining_ms: _left, ...ban }) => ban);
    expect(without(restoredBans.bans)).toEqual(without(bans.bans));
    expect(
      await metric(second.url, 'hitwarden_state_restored{engine="tracker",from="current"}'),
    ).toBe(1);
    expect(
      await metric(second.url, 'hitwarden_state_restored{engine="store",from="current"}'),
    ).toBe(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('loses at most what came after the last save when killed', async () => {
    const dir = join(root, 'kill');
    const first = await spawnServe(['--state', dir, '--save-every', '1']);
    await hits(first.url, 40);
    // Two more saves done: one of them began after the 40th request.
    const saves = await metric(first.url, 'hitwarden_state_saves_total');
    await waitUntil(
      async () => (await metric(first.url, 'hitwarden_state_saves_total')) >= saves + 2,
      10_000,
    );
    await hits(first.url, 15);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServe(['--state', dir]);
    const count = (await topOf(second.url))[0]!.count;
    expect(count).toBeGreaterThanOrEqual(40);
    expect(count).toBeLessThanOrEqual(55);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('refuses a damaged file loudly and starts from the previous generation, or empty', async () => {
    const dir = join(root, 'damaged');
    const first = await spawnServe(['--state', dir, '--save-every', '1']);
    await hits(first.url, 10);
    const saves = await metric(first.url, 'hitwarden_state_saves_total');
    await waitUntil(
      async () => (await metric(first.url, 'hitwarden_state_saves_total')) >= saves + 2,
      10_000,
    );
    first.child.kill('SIGTERM');
    await first.exited;

    writeFileSync(join(dir, 'tracker.state'), 'not a state file');
    const second = await spawnServe(['--state', dir]);
    expect(
      await metric(second.url, 'hitwarden_state_restored{engine="tracker",from="previous"}'),
    ).toBe(1);
    expect(await metric(second.url, 'hitwarden_state_files_refused{engine="tracker"}')).toBe(1);
    expect((await topOf(second.url))[0]!.count).toBe(10);
    const logs = second
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; level: number; reason?: string });
    const refusal = logs.find((entry) => entry.msg === 'saved state refused');
    expect(refusal?.level).toBe(50);
    expect(refusal?.reason).toMatch(/tracker\.state: not a hitwarden state file/);
    expect(
      logs.some((entry) => entry.msg === 'started from the previous generation of the saved state'),
    ).toBe(true);
    second.child.kill('SIGKILL');
    await second.exited;

    writeFileSync(join(dir, 'tracker.state'), 'not a state file');
    writeFileSync(join(dir, 'tracker.state.1'), Buffer.alloc(100));
    const third = await spawnServe(['--state', dir]);
    expect(await metric(third.url, 'hitwarden_state_restored{engine="tracker",from="none"}')).toBe(
      1,
    );
    expect(await metric(third.url, 'hitwarden_state_files_refused{engine="tracker"}')).toBe(2);
    expect(await topOf(third.url)).toEqual([]);
    expect(third.stdout()).toContain('started EMPTY: no saved state could be loaded');
    third.child.kill('SIGTERM');
    await third.exited;
  });
});
