// Seed demo 4 — a sliding log under sustained load: pruning keeps memory at rate × window.
// Run: npx tsx examples/counter/04-high-volume-pruning.ts
import { HitCounter, ManualClock, SlidingLog } from '../../src/index.js';
import { isMain } from './is-main.js';

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(0);
  const hits = new HitCounter({
    strategy: new SlidingLog({ maxWindowSeconds: 5 }),
    clock: clock.now,
  });
  let prunes = 0;
  hits.on('pruned', () => prunes++);

  let peak = 0;
  for (let ms = 0; ms < 10_000; ms++) {
    clock.set(ms); // 1,000 hits a second for 10 seconds
    hits.record('/burst');
    peak = Math.max(peak, hits.metrics().memory_entries);
  }
  const metrics = hits.metrics();
  print('10,000 hits over 10 s (1,000/s) into a 5 s sliding log');
  print(`peak memory entries: ${peak} (bound: 5 s × 1,000/s = 5,000; unpruned it would be 10,000)`);
  print(
    `total hits ${metrics.total_hits}, pruned ${metrics.pruned_events} in ${prunes} prune events`,
  );
  print(`last 5 s: ${hits.query('/burst', 5)}, last 1 s: ${hits.query('/burst', 1)}`);
}

if (isMain(import.meta.url)) run(console.log);
