// Export and load times of a memory store holding N pairs (one event each, every tenth
// banned), for this src/ or another copy of it:
//
//   node --import tsx bench/banhammer/store-state.ts [pairs=1000000] [path/to/src]
//
// Prints one JSON line: the fill, `exportState()` (a synchronous copy), the image's bytes,
// `exportStateInSlices()` beside a loop of one decision per macrotask (its longest wait),
// `loadState()` (the checks) and the open that applies it (a BanHammer constructed over the
// loaded store), and a check that the restored store answers like the saved one.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const N = Number(process.argv[2] ?? 1_000_000);
const src = resolve(process.argv[3] ?? new URL('../../src', import.meta.url).pathname);
const { BanHammer, MemoryStore } = await import(pathToFileURL(`${src}/index.ts`).href);
const bans = {
  login: { thresholds: [{ limit: 5, window: 60, action: [], action_duration: 600 }] },
};
const now = Date.now();
const clock = () => now;
const tokens = Array.from({ length: N }, (_, i) =>
  Buffer.from(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, 'latin1').toString('latin1'),
);
const store = new MemoryStore({ maxTokens: N });
const hammer = new BanHammer(bans, { store, clock });
const fillStart = performance.now();
for (let i = 0; i < N; i++) {
  hammer.incr(tokens[i]!, 'login');
  if (i % 10 === 0) await hammer.now(tokens[i]!, 'login', 0);
}
const fillMs = performance.now() - fillStart;

let start = performance.now();
const exported = store.exportState();
const exportMs = performance.now() - start;
exported.release();
let bytes = 0;
for (const array of Object.values(exported.image.arrays) as ArrayBufferView[])
  bytes += array.byteLength;

// The same export a range of slots per macrotask, beside a loop of one incr per macrotask:
// the longest wait between two of its turns is the longest slice.
let longestGap = 0;
let turns = 0;
let slicing = true;
const loop = new Promise<void>((done) => {
  let last = performance.now();
  const turn = () => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    hammer.incr(tokens[N - 1 - (turns++ % 997)]!, 'login');
    last = performance.now();
    if (slicing) setImmediate(turn);
    else done();
  };
  setImmediate(turn);
});
start = performance.now();
const sliced = await store.exportStateInSlices();
const slicedMs = performance.now() - start;
slicing = false;
await loop;
sliced.release();

const restored = new MemoryStore({ maxTokens: N });
start = performance.now();
restored.loadState(exported.image);
const loadMs = performance.now() - start;
start = performance.now();
const hammer2 = new BanHammer(bans, { store: restored, clock });
const openMs = performance.now() - start;
let same = restored.size === store.size;
for (let i = 0; i < N - 1000; i += Math.floor(N / 1000)) {
  const a = await hammer.status(tokens[i]!, 'login');
  const b = await hammer2.status(tokens[i]!, 'login');
  same &&= JSON.stringify(a) === JSON.stringify(b);
}
console.log(
  JSON.stringify({
    pairs: N,
    fillMs: Math.round(fillMs),
    exportMs: Math.round(exportMs),
    imageBytes: bytes,
    inSlicesMs: Math.round(slicedMs),
    inSlicesLongestGapMs: +longestGap.toFixed(3),
    inSlicesTurns: turns,
    metaBytes: JSON.stringify(exported.image.meta).length,
    loadStateMs: Math.round(loadMs),
    openApplyMs: Math.round(openMs),
    same,
  }),
);
