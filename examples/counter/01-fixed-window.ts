// Seed demo 1 — fixed window baseline: what summing whole buckets means for a query.
// Run: npx tsx examples/counter/01-fixed-window.ts
import { FixedWindow, HitCounter, ManualClock } from '../../src/index.js';
import { isMain } from './is-main.js';

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(20_000); // epoch ms: t = 20 s
  const hits = new HitCounter({
    strategy: new FixedWindow({ windowSeconds: 10 }),
    clock: clock.now,
  });

  for (const second of [0, 5, 8, 15, 18]) hits.record('/api', second * 1000);
  print(
    'hits on /api at t = 0, 5, 8, 15, 18 s; buckets of 10 s: [0, 10) holds 3, [10, 20) holds 2',
  );

  print(`t = 20 s, last 10 s: ${hits.query('/api', 10)} (buckets [10, 20) and [20, 30); exact: 2)`);
  clock.set(25_000);
  print(
    `t = 25 s, last 10 s: ${hits.query('/api', 10)} (the span starts at 15 s, inside [10, 20): the whole bucket counts; exact: 1)`,
  );
  print(
    `t = 25 s, last 20 s: ${hits.query('/api', 20)} (5, 25] overlaps every bucket; exact: 3, the hit at 5 s is out)`,
  );
  print(`metrics: ${JSON.stringify(hits.metrics())}`);
}

if (isMain(import.meta.url)) run(console.log);
