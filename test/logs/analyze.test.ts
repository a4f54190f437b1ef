import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { parseBansFile } from '../../src/banhammer/bans-file.js';
import type { TrippedEvent } from '../../src/banhammer/events.js';
import { normalizeIp } from '../../src/ip/normalize.js';
import { DEFAULT_JSON_FIELDS } from '../../src/logs/jsonl.js';
import { checkInputs } from '../../src/logs/log-input.js';
import { analyzeLogs } from '../../src/logs/run.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hitwarden-analyze-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
function clf(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

const CLIENTS = [
  '10.0.0.1',
  '10.0.0.2',
  '192.0.2.77',
  '2001:db8::1',
  '::ffff:10.0.0.2',
  '2001:DB8:0::2',
];
const ROUTES = ['GET /', 'GET /search?q=a', 'POST /login', 'GET /products/7#top'];
const START = Date.UTC(2026, 11, 1, 9);

interface Event {
  client: number;
  route: number;
  status: number;
  step: number;
  malformed: boolean;
}
const event = fc.record({
  client: fc.integer({ min: 0, max: CLIENTS.length - 1 }),
  route: fc.integer({ min: 0, max: ROUTES.length - 1 }),
  status: fc.constantFrom(200, 200, 401, 404, 503, 301),
  step: fc.integer({ min: 0, max: 3 }),
  malformed: fc.boolean().map((b) => b && Math.random() < 0.2),
});

function logOf(events: Event[]): { text: string; times: number[] } {
  let time = START;
  const times: number[] = [];
  const lines = events.map((e) => {
    time += e.step * 1000;
    times.push(time);
    if (e.malformed)
      return `${CLIENTS[e.client]} - - [${clf(time)}] "GET / HTTP/1.1" 2x0 1 "-" "-"`;
    return `${CLIENTS[e.client]} - - [${clf(time)}] "${ROUTES[e.route]} HTTP/1.1" ${e.status} 10 "-" "agent \\"x\\""`;
  });
  return { text: lines.map((l) => `${l}\n`).join(''), times };
}

const BANS = `
login_failed:
  match: { method: POST, path: /login, status: 401 }
  thresholds:
    - { limit: 2, window: 10, action_duration: 20, action: [blockLocal] }
    - { limit: 5, window: 60, action_duration: 60, mode: shadow }
server_errors:
  match: { status: 5xx }
  thresholds:
    - { limit: 1, window: 5, action_duration: 5 }
`;

/** The line-by-line oracle: the same log read the simple way. */
async function oracle(events: Event[], times: number[]) {
  const counts = new Map<string, number>();
  const routes = new Map<string, number>();
  const status: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  let clock = 0;
  const bans = parseBansFile(BANS, 'bans.yaml');
  const hammer = new BanHammer(bans.bans, { store: new MemoryStore(), clock: () => clock });
  const trips: {
    time: number;
    token: string;
    metric: string;
    threshold: number;
    shadow: boolean;
  }[] = [];
  let pending: number[] = [];
  hammer.on('tripped', (e: TrippedEvent) => {
    trips.push({
      time: pending.shift()!,
      token: e.token,
      metric: e.metric,
      threshold: e.threshold,
      shadow: e.shadow,
    });
  });
  let malformed = 0;
  for (const [i, e] of events.entries()) {
    if (e.malformed) {
      malformed++;
      continue;
    }
    const client = normalizeIp(CLIENTS[e.client]!);
    counts.set(client, (counts.get(client) ?? 0) + 1);
    const route = ROUTES[e.route]!.split(/[?#]/)[0]!;
    routes.set(route, (routes.get(route) ?? 0) + 1);
    status[`${Math.floor(e.status / 100)}xx`]!++;
    clock = times[i]!;
    const metrics: string[] = [];
    if (route === 'POST /login' && e.status === 401) metrics.push('login_failed');
    if (e.status >= 500) metrics.push('server_errors');
    for (const metric of metrics) {
      const before = hammer.counters.tripped + hammer.counters.shadow_tripped;
      await hammer.incr(client, metric);
      const after = hammer.counters.tripped + hammer.counters.shadow_tripped;
      for (let k = before; k < after; k++) pending.push(clock);
    }
  }
  await hammer.settled();
  await hammer.close();
  pending = [];
  return { counts, routes, status, malformed, trips };
}

describe('analyze against a line-by-line oracle', () => {
  it('counts clients, routes, status classes, malformed lines and trips exactly, plain or gzip, on one thread or two', async () => {
    const bansFile = join(dir, 'bans.yaml');
    writeFileSync(bansFile, BANS);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 1, maxLength: 150 }),
        fc.boolean(),
        fc.constantFrom(1, 2),
        async (events, gzip, threads) => {
          const { text, times } = logOf(events);
          const file = join(dir, `log-${run++}`);
          writeFileSync(file, gzip ? gzipSync(text) : text);
          const result = await analyzeLogs(await checkInputs([file]), {
            format: 'auto',
            jsonFields: DEFAULT_JSON_FIELDS,
            windows: [60],
            top: 10,
            replays: [{ name: bansFile, file: parseBansFile(BANS, bansFile) }],
            threads: threads as 1 | 2,
          });
          const expected = await oracle(events, times);
          const top = Object.fromEntries(result.top.map((e) => [e.ip, e.count]));
          expect(top).toEqual(Object.fromEntries(expected.counts));
          expect(
            Object.fromEntries(result.routes.map((r) => [`${r.method} ${r.path}`, r.count])),
          ).toEqual(Object.fromEntries(expected.routes));
          expect(result.status).toEqual(expected.status);
          expect(result.malformed.count).toBe(expected.malformed);
          expect(result.lines).toBe(events.length);
          expect(result.replays[0]!.trips.map(({ action: _action, ...trip }) => trip)).toEqual(
            expected.trips,
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
