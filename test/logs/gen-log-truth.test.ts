import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBansFile } from '../../src/banhammer/bans-file.js';
import { DEFAULT_JSON_FIELDS } from '../../src/logs/jsonl.js';
import { checkInputs } from '../../src/logs/log-input.js';
import { analyzeLogs } from '../../src/logs/run.js';
import { AccessLogGenerator } from '../../src/synth/access-log.js';

/*
 * analyze on a generated day equals the generator's ground truth exactly: the top clients,
 * every route's count, the status classes, and which attackers a login_failed threshold
 * catches and when — worked out here from the attackers' failure times, not by a BanHammer.
 */

const dir = mkdtempSync(join(tmpdir(), 'hitwarden-truth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMIT = 10;
const WINDOW_MS = 60_000;
const BANS = `login_failed:
  match: { method: POST, path: /login, status: 401 }
  thresholds:
    - { limit: ${LIMIT}, window: 60, action_duration: 600, action: [blockLocal] }
`;

/** When an attacker first has more than LIMIT failures within (t − 60 s, t], or undefined. */
function firstTrip(times: number[]): number | undefined {
  for (let i = LIMIT; i < times.length; i++) {
    if (times[i]! - times[i - LIMIT]! < WINDOW_MS) return times[i];
  }
  return undefined;
}

describe('analyze on gen-log output', () => {
  it('finds exactly the ground truth', async () => {
    const generator = new AccessLogGenerator({
      lines: 60_000,
      seed: 7,
      attackers: 6,
      ipv6Share: 0.3,
    });
    const file = join(dir, 'day.log');
    writeFileSync(file, [...generator.text(64 * 1024)].join(''));
    const truth = generator.truth();
    expect(truth.legitMaxFailuresPerMinute).toBeLessThan(LIMIT);

    const result = await analyzeLogs(await checkInputs([file]), {
      format: 'auto',
      jsonFields: DEFAULT_JSON_FIELDS,
      windows: [60, 3600],
      top: 50,
      replays: [{ name: 'bans.yaml', file: parseBansFile(BANS, 'bans.yaml') }],
    });

    expect(result.lines).toBe(truth.lines);
    expect(result.malformed.count).toBe(0);
    expect(result.distinctClients).toBe(truth.distinctClients);
    expect(result.firstTime).toBe(truth.start);
    expect(result.lastTime).toBe(truth.end);
    // The top 50: each count exact, and the order count-descending (ties by address, which
    // the tracker's own tests check).
    for (const entry of result.top) expect(entry.count, entry.ip).toBe(truth.counts[entry.ip]);
    const counts = Object.values(truth.counts).sort((a, b) => b - a);
    expect(result.top.map((e) => e.count)).toEqual(counts.slice(0, 50));
    expect(
      Object.fromEntries(result.routes.map((r) => [`${r.method} ${r.path}`, r.count])),
    ).toEqual(truth.routes);
    expect(result.status).toEqual(truth.status);

    const expected = truth.attackers
      .map((a) => ({ token: a.ip, time: firstTrip(a.failureTimes) }))
      .filter((a) => a.time !== undefined)
      .sort((a, b) => a.token.localeCompare(b.token));
    expect(expected.length).toBeGreaterThan(0);
    const firsts = new Map<string, number>();
    for (const trip of result.replays[0]!.trips)
      if (!firsts.has(trip.token)) firsts.set(trip.token, trip.time);
    expect(
      [...firsts]
        .map(([token, time]) => ({ token, time }))
        .sort((a, b) => a.token.localeCompare(b.token)),
    ).toEqual(expected);
  });

  it('is the same log for the same seed, and another for another seed', () => {
    const text = (seed: number) =>
      [...new AccessLogGenerator({ lines: 5000, seed, attackers: 2, ipv6Share: 0.2 }).text()].join(
        '',
      );
    expect(text(3)).toBe(text(3));
    expect(text(3)).not.toBe(text(4));
  });
});
