// The README's BanHammer example, run as written (only the journal path and the clock differ,
// so the test writes to a temp dir and does not wait an hour).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BanHammer,
  blockLocal,
  localBlocks,
  ManualClock,
  recordLocal,
  reportCentral,
} from '../../src/index.js';

describe('README BanHammer example', () => {
  let dir = '';
  afterEach(async () => {
    localBlocks.clear();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses the 11th failed login from an address, blocks it locally, lets the office through', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hitwarden-readme-'));
    const clock = new ManualClock(Date.parse('2026-05-01T09:00:00Z'));
    const hammer = new BanHammer(
      {
        login_failed: {
          thresholds: [
            { limit: 10, window: 3600, action: [blockLocal], action_duration: 3600 },
            {
              limit: 100,
              window: 3600,
              action: [
                reportCentral({ url: 'https://abuse.example/report', timeoutMs: 2000, retries: 2 }),
              ],
              action_duration: 86400,
            },
          ],
        },
        login_successful: {
          thresholds: [
            {
              limit: 10,
              window: 60,
              action: [recordLocal({ path: join(dir, 'var/bans.jsonl') })],
              action_duration: 3600,
            },
          ],
        },
      },
      {
        allowList: ['10.0.0.0/8'],
        denyList: ['192.0.2.0/24', '2001:db8:bad::/48'],
        clock: clock.now,
      },
    );

    const ip = '203.0.113.50';
    const answers: boolean[] = [];
    for (let i = 0; i < 11; i++) answers.push(await hammer.incr(ip, 'login_failed'));
    expect(answers.slice(0, 10).every(Boolean)).toBe(true);
    expect(answers[10]).toBe(false);
    await hammer.settled();
    expect(localBlocks.isBlocked(ip)).toBe(true);

    expect(await hammer.incr('10.20.30.40', 'login_failed')).toBe(true);
    expect(await hammer.incr('192.0.2.1', 'login_failed')).toBe(false);

    const withRates = new BanHammer(
      {
        login_failed: {
          thresholds: [{ limit: 10, window: 3600, action: [], action_duration: 3600 }],
        },
      },
      { returnRates: true, clock: clock.now },
    );
    const [passed, stats] = await withRates.incr(ip, 'login_failed');
    expect(passed).toBe(true);
    expect(stats).toEqual({ token_rate_1m: 1, token_rate_10m: 1, token_rate_60m: 1 });
  });
});
