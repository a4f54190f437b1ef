// How long an export of a big tracker blocks the event loop while requests keep coming:
//
//   node --import tsx bench/tracker/export-pause.ts [addresses=20000000] [path/to/src]
//
// Fills a presized tracker with N distinct IPv4 addresses, then runs a request loop (batches
// of 1,000 Zipf requests, each in its own macrotask, a tenth of them from new addresses)
// while a save runs beside it: `exportState()` (the freeze), the frozen tables written to a
// temporary file in 1 MB slices, one slice per macrotask, then `release()` (the overlay is
// merged back a slice per macrotask). Prints the duration of each synchronous step, the
// longest wait between two request batches (every save step and merge slice runs between
// them), the event loop's worst delay (perf_hooks), the requests served during the freeze,
// and `loadState` of the image into a fresh tracker afterwards (a start-up cost, not a pause
// of a running service).

import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const N = Number(process.argv[2] ?? 20_000_000);
const src = resolve(process.argv[3] ?? new URL('../../src', import.meta.url).pathname);
const { IpTracker } = await import(pathToFileURL(`${src}/index.ts`).href);
const { Sfc32 } = await import(pathToFileURL(`${src}/synth/prng.ts`).href);
const { ZipfSampler } = await import(pathToFileURL(`${src}/synth/zipf.ts`).href);

const textOf = (i: number) => {
  const w = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
};
const tracker = new IpTracker({ expectedAddresses: N + N / 10 });
const fillStart = performance.now();
for (let i = 0; i < N; i++) tracker.requestHandled(textOf(i));
const fillMs = performance.now() - fillStart;

const zipf = new ZipfSampler(N, 1, new Sfc32(11));
const requests = Array.from({ length: 1000 }, () => '');
let fresh = N;
let served = 0;
let saving = true;
const delay = monitorEventLoopDelay({ resolution: 1 });

/** The longest wait between two request batches: what a request arriving then waited. */
let longestGap = 0;
let drainTicks = 0;

/** One batch of requests per macrotask until the save is over and the overlay merged. */
function requestLoop(done: () => void): void {
  let lastEnd = performance.now();
  const tick = () => {
    longestGap = Math.max(longestGap, performance.now() - lastEnd);
    for (let i = 0; i < requests.length; i++) {
      requests[i] = i % 10 === 0 ? textOf(fresh++) : textOf(zipf.sample() - 1);
    }
    for (const ip of requests) tracker.requestHandled(ip);
    served += requests.length;
    if (!saving && tracker.merging) drainTicks++;
    lastEnd = performance.now();
    if (saving || tracker.merging) setImmediate(tick);
    else done();
  };
  setImmediate(tick);
}

const steps: Record<string, number> = {};
let longestSlice = 0;
const timed = <T>(name: string, fn: () => T): T => {
  const start = performance.now();
  const value = fn();
  steps[name] = performance.now() - start;
  return value;
};

const path = join(tmpdir(), `hitwarden-export-pause-${process.pid}.bin`);
const SLICE = 1 << 20;
delay.enable();
const loopDone = new Promise<void>((resolveLoop) => requestLoop(resolveLoop));
const saveStart = performance.now();
const exported = timed('exportStateMs', () => tracker.exportState());
const fd = openSync(path, 'w');
let written = 0;
for (const array of Object.values(exported.image.arrays) as Uint8Array[]) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (let at = 0; at < bytes.length; at += SLICE) {
    await new Promise<void>((next) => setImmediate(next));
    const start = performance.now();
    written += writeSync(fd, bytes, at, Math.min(SLICE, bytes.length - at));
    longestSlice = Math.max(longestSlice, performance.now() - start);
  }
}
closeSync(fd);
const servedDuringFreeze = served;
timed('releaseMs', () => exported.release());
const saveMs = performance.now() - saveStart;
saving = false;
await loopDone;
delay.disable();
unlinkSync(path);
// A start-up load of this size, once the loop is over (nothing counts while it runs).
const again = tracker.exportState();
const restored = new IpTracker({ expectedAddresses: 0 });
timed('loadStateMs', () => restored.loadState(again.image));
again.release();

console.log(
  JSON.stringify({
    addresses: N,
    fillMs: Math.round(fillMs),
    bytesWritten: written,
    saveMs: Math.round(saveMs),
    exportStateMs: +steps.exportStateMs!.toFixed(3),
    longestSliceWriteMs: +longestSlice.toFixed(3),
    releaseMs: +steps.releaseMs!.toFixed(3),
    requestsDuringFreeze: servedDuringFreeze,
    drainTicks,
    longestSaveStepMs: +Math.max(steps.exportStateMs!, longestSlice, steps.releaseMs!).toFixed(3),
    longestGapBetweenRequestBatchesMs: +longestGap.toFixed(3),
    eventLoopDelayMaxMs: +(delay.max / 1e6).toFixed(3),
    eventLoopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(3),
    loadStateMs: Math.round(steps.loadStateMs!),
    restoredSize: restored.size,
    sizeAfter: tracker.size,
  }),
);
