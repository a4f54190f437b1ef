import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { DaysKept, dailyRollover, dayOf, zoneOffsetMinutes } from '../../src/service/days.js';
import { IpTracker } from '../../src/tracker/ip-tracker.js';
import { json, spawnServeCleanedUp } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'hitwarden-days-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spawnServe = spawnServeCleanedUp();
const WINTER = Date.UTC(2026, 0, 15);
const SUMMER = Date.UTC(2026, 6, 15);

describe('the days kept', () => {
  it('puts the rollover at HH:MM in the zone', () => {
    expect(zoneOffsetMinutes('UTC', WINTER)).toBe(0);
    expect(zoneOffsetMinutes('Europe/Paris', WINTER)).toBe(60);
    expect(zoneOffsetMinutes('Europe/Paris', SUMMER)).toBe(120);
    expect(zoneOffsetMinutes('America/New_York', WINTER)).toBe(-300);
    expect(zoneOffsetMinutes('Asia/Kolkata', WINTER)).toBe(330);
    expect(dailyRollover('00:00', 'UTC', WINTER)).toEqual({
      periodSeconds: 86_400,
      offsetSeconds: 0,
      zoneMinutes: 0,
    });
    // Midnight in Paris in winter is 23:00 UTC.
    expect(dailyRollover('00:00', 'Europe/Paris', WINTER).offsetSeconds).toBe(23 * 3600);
    expect(dailyRollover('06:30', 'America/New_York', WINTER).offsetSeconds).toBe(
      11 * 3600 + 30 * 60,
    );
    expect(() => dailyRollover('24:00', 'UTC', WINTER)).toThrow(ConfigError);
    expect(() => dailyRollover('7:00', 'UTC', WINTER)).toThrow(
      /--rollover: must be a time of day HH:MM/,
    );
    expect(() => dailyRollover('00:00', 'Mars/Olympus', WINTER)).toThrow(/--tz: not a time zone/);
    expect(dayOf(Date.UTC(2026, 0, 14, 23), 60)).toBe('2026-01-15');
  });

  it('writes the closing day of a real tracker rollover once, named by its local date', async () => {
    let now = Date.UTC(2026, 0, 14, 22, 0);
    const rollover = dailyRollover('00:00', 'Europe/Paris', now);
    const tracker = new IpTracker({
      clock: () => now,
      rollover: { periodSeconds: rollover.periodSeconds, offsetSeconds: rollover.offsetSeconds },
    });
    const dir = join(root, 'kept');
    mkdirSync(join(dir, 'days'), { recursive: true });
    const days = new DaysKept(dir, rollover.zoneMinutes);
    tracker.requestHandled('203.0.113.1');
    tracker.requestHandled('203.0.113.1');
    tracker.requestHandled('2001:db8::1');
    expect(await days.record(tracker.previous)).toBeUndefined();
    now = Date.UTC(2026, 0, 14, 23, 0, 1); // just past midnight in Paris
    expect(await days.record(tracker.previous)).toBe('2026-01-14');
    expect(await days.record(tracker.previous)).toBeUndefined();
    const kept = JSON.parse(readFileSync(join(dir, 'days', '2026-01-14.json'), 'utf8'));
    expect(kept).toEqual({
      day: '2026-01-14',
      start: '2026-01-13T23:00:00.000Z',
      end: '2026-01-14T23:00:00.000Z',
      addresses: 2,
      top: [
        { ip: '203.0.113.1', count: 2 },
        { ip: '2001:db8::1', count: 1 },
      ],
    });
    expect(await days.read('2026-01-14')).toEqual(kept);
    expect(await days.read('2026-01-13')).toBeUndefined();
    await expect(days.read('../../etc/passwd')).rejects.toThrow(ConfigError);
  });

  it('refuses --rollover or --tz without --state, and a zone it does not know: exit 2, one line', () => {
    const bin = new URL('../../dist/cli/main.js', import.meta.url).pathname;
    const run = (args: string[]) =>
      spawnSync(process.execPath, [bin, 'serve', '--port', '0', ...args], { encoding: 'utf8' });
    const cases: [string[], RegExp][] = [
      [['--rollover', '01:00'], /--rollover and --tz need --state/],
      [['--tz', 'Europe/Paris'], /--rollover and --tz need --state/],
      [['--state', join(root, 'bad-tz'), '--tz', 'Mars/Olympus'], /--tz: not a time zone/],
      [
        ['--state', join(root, 'bad-time'), '--rollover', '25:00'],
        /--rollover: must be a time of day/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = run(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
  });

  it('serves a kept day at /api/top?day=, 404 for a day not kept, 400 for a bad one', async () => {
    const dir = join(root, 'served');
    mkdirSync(join(dir, 'days'), { recursive: true });
    const body = {
      day: '2026-11-30',
      start: '2026-11-30T00:00:00.000Z',
      end: '2026-12-01T00:00:00.000Z',
      addresses: 1,
      top: [{ ip: '192.0.2.1', count: 5 }],
    };
    writeFileSync(join(dir, 'days', '2026-11-30.json'), JSON.stringify(body));
    const served = await spawnServe(['--state', dir, '--rollover', '00:00', '--tz', 'UTC']);
    expect(await json(`${served.url}/api/top?day=2026-11-30`)).toEqual({ status: 200, body });
    expect(await json(`${served.url}/api/top?day=2026-11-29`)).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
    expect(await json(`${served.url}/api/top?day=yesterday`)).toMatchObject({
      status: 400,
      body: { error: 'bad_request' },
    });
    served.child.kill('SIGTERM');
    await served.exited;
    const stateless = await spawnServe([]);
    expect(await json(`${stateless.url}/api/top?day=2026-11-30`)).toMatchObject({ status: 404 });
    stateless.child.kill('SIGTERM');
    await stateless.exited;
  });
});
