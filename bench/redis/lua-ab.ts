/*
 * node --import tsx bench/redis/lua-ab.ts <old src dir> [chunks]
 *
 * Not a benchmark of record: an A/B of decide.lua alone, this tree's against another copy's
 * (e.g. `git archive main src | tar -x -C /tmp/main`), on one redis-server, by the server's own
 * accounting (INFO commandstats: µs of EVALSHA per call), so the client's event loop and the
 * network weigh on neither. The two alternate in chunks; per scenario, the median of each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { KEY_LAYOUT_LUA } from '../../src/store/redis/keys.js';
import { planOf } from '../../src/store/redis/metric-plan.js';
import { RedisServer } from '../../test/support/redis-server.js';

const oldSrc = process.argv[2] ?? '/tmp/rs-base/src';
const oldRedis = join(oldSrc, 'store', 'redis');
const chunks = Number(process.argv[3] ?? 12);
const here = join(import.meta.dirname, '..', '..', 'src', 'store', 'redis');

function source(dir: string, header: string): string {
  const read = (name: string) => readFileSync(join(dir, 'scripts', `${name}.lua`), 'utf8');
  return [header, read('lib'), read('decide')].join('\n');
}
// The old tree's header: its keys.ts's KEY_LAYOUT_LUA has events_key only.
const oldHeader = (await import(join(oldRedis, 'keys.ts'))).KEY_LAYOUT_LUA as string;
const thresholds = [
  { limit: 1000, windowSeconds: 60, durationSeconds: 60, shadow: false },
  { limit: 10_000, windowSeconds: 600, durationSeconds: 600, shadow: false },
  { limit: 100_000, windowSeconds: 3600, durationSeconds: 3600, shadow: false },
];
const newConfig = planOf({ name: 'login', thresholds }).config;
// The old layout: n, ring, log ttl, r, then (limit, window, duration) per threshold.
const old = JSON.parse(newConfig) as number[];
const oldConfig = JSON.stringify([
  ...old.slice(0, 4),
  ...thresholds.flatMap((t) => [t.limit, t.windowSeconds * 1000, t.durationSeconds * 1000]),
]);
const versions = [
  { name: 'old', lua: source(oldRedis, oldHeader), config: oldConfig },
  { name: 'new', lua: source(here, KEY_LAYOUT_LUA), config: newConfig },
  {
    name: 'new+quota',
    lua: source(here, KEY_LAYOUT_LUA),
    config: JSON.stringify(Object.assign(JSON.parse(newConfig), { 5: 1 })),
  },
];

const server = await RedisServer.start();
const client = new Redis(server.port, '127.0.0.1');
try {
  const shas = await Promise.all(
    versions.map((v) => client.script('LOAD', v.lua) as Promise<string>),
  );
  const usec = async () => {
    const info = await client.info('commandstats');
    const line = info.split('\n').find((l) => l.startsWith('cmdstat_evalsha:'));
    const match = line ? /calls=(\d+),usec=(\d+)/.exec(line) : null;
    return match ? { calls: Number(match[1]), usec: Number(match[2]) } : { calls: 0, usec: 0 };
  };
  let next = 0;
  const scenarios: Record<string, (v: number) => string[]> = {
    'one token, 100 in a call': (v) =>
      Array.from({ length: 100 }, () => `ab${v}:{t:attacker}:login:state`),
    '100 tokens of 100k, 100 in a call': (v) =>
      Array.from({ length: 100 }, () => {
        next = (next + 1) % 100_000;
        return `ab${v}:{t:10.${next}}:login:state`;
      }),
  };
  for (const [scenario, keysOf] of Object.entries(scenarios)) {
    const per: number[][] = versions.map(() => []);
    for (let chunk = 0; chunk < chunks; chunk++) {
      // Each chunk in the other order, so no version always runs after the same one.
      const order = versions.map((_, i) => (chunk % 2 === 0 ? i : versions.length - 1 - i));
      for (const v of order) {
        const before = await usec();
        for (let i = 0; i < 200; i++) {
          const keys = keysOf(v);
          await client.evalsha(
            shas[v]!,
            keys.length,
            ...keys,
            '',
            '9999999999999',
            '0',
            '1',
            versions[v]!.config,
          );
        }
        const after = await usec();
        per[v]!.push((after.usec - before.usec) / (after.calls - before.calls));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(per[0]!);
    console.log(
      `${scenario}: ` +
        versions
          .map(
            (v, i) =>
              `${v.name} ${median(per[i]!).toFixed(1)} µs/call (×${(median(per[i]!) / base).toFixed(3)})`,
          )
          .join(', '),
    );
  }
} finally {
  client.disconnect();
  await server.stop();
}
