// Seed demo 3 — swapping to Morris: the old state is dropped (and the counter says so),
// then a few bits per bucket estimate the count.
// Run: npx tsx examples/counter/03-swap-to-morris.ts
import { HitCounter, ManualClock, Morris } from '../../src/index.js';
import { isMain } from './is-main.js';

/** A seeded xorshift32 generator, so the estimate printed is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(1_000_000);
  const hits = new HitCounter({ clock: clock.now });
  hits.on('strategy_reset', (event) => print(`[strategy_reset] ${JSON.stringify(event)}`));
  hits.on('strategy_swapped', (event) => print(`[strategy_swapped] ${JSON.stringify(event)}`));

  for (let i = 0; i < 1_000; i++) hits.record('/counter', 1_000_000 - i);
  print(`fixed window: ${hits.query('/counter', 60)} hits in the last 60 s`);

  hits.swapStrategy(new Morris({ base: 2, random: seededRandom(2024) }));
  print(
    `after the swap: ${hits.query('/counter', 60)} (state reset: buckets cannot become exponents)`,
  );

  const n = 1_000;
  const keys = ['/counter', '/a', '/b', '/c', '/d', '/e', '/f', '/g'];
  const estimates = (counter: HitCounter) => {
    for (const key of keys) for (let i = 0; i < n; i++) counter.record(key, 1_000_000 - i);
    const values = keys.map((key) => counter.query(key, 60));
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    return `${values.map((value) => Math.round(value)).join(', ')} (mean ${Math.round(mean)})`;
  };
  print(`Morris (base 2), ${n} hits on each of ${keys.length} keys: ${estimates(hits)}`);
  print(`  unbiased; standard deviation √(n(n−1)/2) ≈ ${Math.round(Math.sqrt((n * (n - 1)) / 2))}`);
  print(`metrics: ${JSON.stringify(hits.metrics())}`);

  // A smaller base trades a byte per bucket for a tighter estimate: sd ≈ √((a−1)/2) · n.
  const finer = new HitCounter({
    strategy: new Morris({ base: 1.1, random: seededRandom(2024) }),
    clock: clock.now,
  });
  print(`Morris (base 1.1), the same hits: ${estimates(finer)}`);
  print(
    `  standard deviation √(0.1 · n(n−1)/2) ≈ ${Math.round(Math.sqrt((0.1 * n * (n - 1)) / 2))}`,
  );
}

if (isMain(import.meta.url)) run(console.log);
