// A short A/B of the memory store's decision path: BanHammer#incr (the sync fast path over
// the core) on one hot token and on distinct tokens, for this src/ or another copy of it.
//
//   node --import tsx bench/banhammer/core-ab.ts [path/to/src]
//
// Prints one JSON line of decisions a second. Short on purpose: alternate runs of the two
// copies and compare medians; on a shared machine the spread is large.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const src = resolve(process.argv[2] ?? new URL('../../src', import.meta.url).pathname);
const { BanHammer, MemoryStore } = await import(pathToFileURL(`${src}/index.ts`).href);
const HOT = 2_000_000;
const DISTINCT = 500_000;
const bans = {
  m: { thresholds: [{ limit: 100_000, window: 60, action: [], action_duration: 60 }] },
};

const distinct = Array.from({ length: DISTINCT }, (_, i) =>
  Buffer.from(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, 'latin1').toString('latin1'),
);

function rate(tokenAt: (i: number) => string, n: number, clock?: () => number): number {
  const hammer = new BanHammer(bans, { store: new MemoryStore(), ...(clock ? { clock } : {}) });
  const start = performance.now();
  for (let i = 0; i < n; i++) hammer.incr(tokenAt(i), 'm');
  return Math.round(n / ((performance.now() - start) / 1000));
}

// The hot token trips after 100k events and is then refused: the blocking path.
const hot = rate(() => '203.0.113.77', HOT);
// A clock a millisecond further on each call: 1,000 events a second never trip, so this is
// the passing path (its ring is bucketed after the first 16 events of the hour).
let t = Date.now();
const hotPassing = rate(
  () => '203.0.113.78',
  HOT,
  () => t++,
);
const fresh = rate((i) => distinct[i]!, DISTINCT);
console.log(
  JSON.stringify({ hotPerSecond: hot, hotPassingPerSecond: hotPassing, distinctPerSecond: fresh }),
);
