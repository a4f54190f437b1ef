// Memory held by banned (token, metric) pairs in the memory store: N distinct tokens, each
// banned by its first event (limit 0), measured after a full GC.
//
//   node --expose-gc --import tsx bench/banhammer/ban-memory.ts [N] [path/to/src]
//   LIMIT=1000 ... (no pair banned: the same table without bans, for the difference)
//
// The second argument points at another copy of src/ (e.g. one from `git archive main`), to
// compare before and after. Prints one JSON line.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const n = Number(process.argv[2] ?? 2_000_000);
const src = resolve(process.argv[3] ?? new URL('../../src', import.meta.url).pathname);
const { BanHammer, MemoryStore } = await import(pathToFileURL(`${src}/index.ts`).href);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function usage() {
  gc!();
  gc!();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

// The tokens exist before the first measurement, so their strings are not counted.
const tokens = Array.from(
  { length: n },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${i}`,
);
const store = new MemoryStore({ maxTokens: n, initialCapacity: n });
const hammer = new BanHammer(
  {
    m: {
      thresholds: [
        { limit: Number(process.env.LIMIT ?? 0), window: 60, action: [], action_duration: 3600 },
      ],
    },
  },
  { store },
);
const before = usage();
for (let i = 0; i < n; i += 10_000) await hammer.incrMany(tokens.slice(i, i + 10_000), 'm');
const after = usage();
const banned = (await hammer.status(tokens[n - 1], 'm')).bans.length;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
console.log(
  JSON.stringify({
    pairs: store.size,
    lastBanned: banned === 1,
    rssMB: mb(after.rss - before.rss),
    heapMB: mb(after.heapUsed - before.heapUsed),
    // An older copy of src/ may have only the core's count.
    typedArraysMB: mb(store.arrayBytes ?? store.core.arrayBytes),
    bytesPerPairRss: Math.round((after.rss - before.rss) / n),
    bytesPerPairHeap: Math.round((after.heapUsed - before.heapUsed) / n),
  }),
);
