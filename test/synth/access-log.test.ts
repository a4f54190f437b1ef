import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeIp } from '../../src/ip/normalize.js';
import { AccessLogGenerator, LEGIT_FAILURES_PER_MINUTE } from '../../src/synth/access-log.js';

const LINE =
  /^(\S+) - - \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) \+0000\] "(GET|POST) (\S+) HTTP\/1\.1" (\d{3}) (\d+|-) "[^"]*" "((?:[^"\\]|\\.)*)"$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

describe('AccessLogGenerator', () => {
  const generator = new AccessLogGenerator({
    lines: 30_000,
    seed: 11,
    attackers: 4,
    ipv6Share: 0.25,
  });
  const text = [...generator.text(8192)].join('');
  const truth = generator.truth();

  it('writes strict combined lines in time order, and its truth is what a re-count of them says', () => {
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(30_000);
    const counts = new Map<string, number>();
    const routes = new Map<string, number>();
    const status: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    const failures = new Map<string, number[]>();
    let last = 0;
    let v6 = 0;
    for (const line of lines) {
      const m = LINE.exec(line);
      expect(m, line).not.toBeNull();
      const [, ip, day, month, year, hh, mm, ss, method, target, code] = m!;
      const time = Date.UTC(
        Number(year),
        MONTHS.indexOf(month!),
        Number(day),
        Number(hh),
        Number(mm),
        Number(ss),
      );
      expect(time).toBeGreaterThanOrEqual(last);
      last = time;
      expect(normalizeIp(ip!)).toBe(ip);
      if (ip!.includes(':')) v6++;
      counts.set(ip!, (counts.get(ip!) ?? 0) + 1);
      const route = `${method} ${target!.split('?')[0]}`;
      routes.set(route, (routes.get(route) ?? 0) + 1);
      status[`${code![0]}xx`]!++;
      if (route === 'POST /login' && code === '401')
        failures.set(ip!, [...(failures.get(ip!) ?? []), time]);
    }
    expect(truth.counts).toEqual(Object.fromEntries(counts));
    expect(truth.routes).toEqual(Object.fromEntries(routes));
    expect(truth.status).toEqual(status);
    expect(truth.distinctClients).toBe(counts.size);
    const attackers = new Set(truth.attackers.map((a) => a.ip));
    for (const attacker of truth.attackers)
      expect(failures.get(attacker.ip)).toEqual(attacker.failureTimes);
    // No legitimate client fails more than the bound in any 60 s.
    let worst = 0;
    for (const [ip, times] of failures) {
      if (attackers.has(ip)) continue;
      for (let i = 0; i < times.length; i++) {
        worst = Math.max(
          worst,
          times.filter((t) => t > times[i]! - 60_000 && t <= times[i]!).length,
        );
      }
    }
    expect(worst).toBe(truth.legitMaxFailuresPerMinute);
    expect(worst).toBeLessThanOrEqual(LEGIT_FAILURES_PER_MINUTE);
    // About a quarter of the lines come from IPv6 clients (a Zipf draw: loosely).
    expect(v6 / lines.length).toBeGreaterThan(0.05);
    expect(v6 / lines.length).toBeLessThan(0.6);
  });

  it('follows a diurnal curve: the evening is busier than the small hours', () => {
    const hours = new Array(24).fill(0);
    for (const line of text.split('\n')) {
      const m = /:(\d\d):\d\d:\d\d \+0000/.exec(line);
      if (m) hours[Number(m[1])]++;
    }
    expect(hours[20]).toBeGreaterThan(hours[4] * 3);
  });
});

describe('hitwarden gen-log', () => {
  const bin = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'hitwarden-gen-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, 'gen-log', ...args], { maxBuffer: 1 << 28 });

  it('writes the same log for a seed, plain or gzip, and its truth file', () => {
    const plain = run(['--lines', '2000', '--seed', '5', '--truth', join(dir, 'truth.json')]);
    expect(plain.status).toBe(0);
    expect(plain.stderr.toString()).toBe('');
    const gz = run(['--lines', '2000', '--seed', '5', '--gzip']);
    expect(gunzipSync(gz.stdout).equals(plain.stdout)).toBe(true);
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
    expect(truth.lines).toBe(2000);
    expect(Object.values(truth.counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      2000,
    );
  });

  it('exits 2 with one line for a usage error', () => {
    const result = run(['--lines', 'many']);
    expect(result.status).toBe(2);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr.toString().trim().split('\n')).toHaveLength(1);
  });
});
