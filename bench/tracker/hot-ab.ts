// A short A/B of the tracker's hot path, `requestHandled`, for this src/ or another copy of it
// (e.g. main's, to see what a change costs):
//
//   node --import tsx bench/tracker/hot-ab.ts [path/to/src]
//
// Prints one JSON line of requests a second: 2M distinct IPv4 addresses into a presized
// tracker, then 4M Zipf(1) requests over them, then 500k over 100k IPv6 addresses. Short on
// purpose: alternate runs of the two copies under the CPU lock and compare medians.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const src = resolve(process.argv[2] ?? new URL('../../src', import.meta.url).pathname);
const { IpTracker } = await import(pathToFileURL(`${src}/index.ts`).href);
const { Sfc32 } = await import(pathToFileURL(`${src}/synth/prng.ts`).href);
const { ZipfSampler } = await import(pathToFileURL(`${src}/synth/zipf.ts`).href);

const DISTINCT = 2_000_000;
const ZIPF = 4_000_000;
const V6 = 100_000;
const V6_REQUESTS = 500_000;

/** Flat strings copied out of a buffer, as a socket hands them over. */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}
const ipv4 = (i: number) => {
  const w = Math.imul(i, 0x9e3779b1) >>> 0;
  return flat(`${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`);
};
const unique = Array.from({ length: DISTINCT }, (_, i) => ipv4(i));
const zipf = new ZipfSampler(DISTINCT, 1, new Sfc32(7));
const skewed = Array.from({ length: ZIPF }, () => unique[zipf.sample() - 1]!);
const v6 = Array.from({ length: V6 }, (_, i) =>
  flat(`2001:db8:${(i >>> 16).toString(16)}::${(i & 0xffff).toString(16)}`),
);
const v6Requests = Array.from({ length: V6_REQUESTS }, (_, i) => v6[(i * 7919) % V6]!);

function rate(tracker: { requestHandled(ip: string): void }, ips: string[]): number {
  const start = performance.now();
  for (let i = 0; i < ips.length; i++) tracker.requestHandled(ips[i]!);
  return Math.round(ips.length / ((performance.now() - start) / 1000));
}

const tracker = new IpTracker({ expectedAddresses: DISTINCT });
const distinctPerSecond = rate(tracker, unique);
const zipfPerSecond = rate(tracker, skewed);
const v6PerSecond = rate(new IpTracker(), v6Requests);
console.log(JSON.stringify({ distinctPerSecond, zipfPerSecond, v6PerSecond }));
