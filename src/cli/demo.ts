import type { Command } from 'commander';
import { Ipv4Space, Ipv6Space } from '../synth/addresses.js';
import { Sfc32, splitMix32 } from '../synth/prng.js';
import { ZipfSampler } from '../synth/zipf.js';
import { IpTracker } from '../tracker/ip-tracker.js';
import { integerArgument, numberArgument } from './options.js';

interface DemoOptions {
  addresses: number;
  requests: number;
  ipv6Share: number;
  top: number;
  seed: number;
}

/**
 * `hitwarden demo`: a synthetic day through the IP tracker. Client popularity follows
 * Zipf(1.0) over a pool of distinct addresses (a share of them IPv6), and the run reports
 * what a dashboard would show, plus what it cost.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('feed a synthetic day of traffic through the IP tracker and print the top list')
    .option('--addresses <n>', 'distinct client addresses', integerArgument(1, 1e9), 1_000_000)
    .option('--requests <n>', 'requests to simulate', integerArgument(0, 1e12), 3_000_000)
    .option('--ipv6-share <fraction>', 'share of clients that use IPv6', numberArgument(0, 1), 0.1)
    .option('--top <n>', 'rows to print', integerArgument(0, 1_000_000), 10)
    .option('--seed <n>', 'random seed (same seed, same day)', integerArgument(0, 2 ** 32 - 1), 1)
    .action((options: DemoOptions) => runDemo(options));
}

export function runDemo(options: DemoOptions, write = (line: string) => console.log(line)): void {
  const { addresses, requests, ipv6Share, top, seed } = options;
  const random = new Sfc32(seed);
  const v4 = new Ipv4Space(seed);
  const v6 = new Ipv6Space(seed);
  const ranks = new ZipfSampler(addresses, 1, random);
  // Whether a client uses IPv6 is a fixed property of its rank (a hash of it), so IPv6
  // clients are spread over the whole popularity range and each keeps one address.
  const v6Cut = Math.round(ipv6Share * 0x1_0000_0000);
  const textOf = (rank: number) =>
    splitMix32(rank ^ seed) < v6Cut ? v6.text(rank - 1) : v4.text(rank - 1);

  // The address text is made before the clock starts: only the tracker is timed.
  const batch: string[] = new Array(65_536);
  const tracker = new IpTracker({ topN: Math.max(100, top) });
  let trackedMs = 0;
  for (let done = 0; done < requests; ) {
    const size = Math.min(batch.length, requests - done);
    for (let i = 0; i < size; i++) batch[i] = textOf(ranks.sample());
    const start = performance.now();
    for (let i = 0; i < size; i++) tracker.requestHandled(batch[i]!);
    trackedMs += performance.now() - start;
    done += size;
  }
  const topStart = performance.now();
  const rows = tracker.top(top);
  const topMs = performance.now() - topStart;

  write(
    `hitwarden demo: ${requests.toLocaleString('en-US')} requests from ${tracker.size.toLocaleString('en-US')} distinct addresses (Zipf 1.0, seed ${seed})`,
  );
  write('');
  const width = Math.max(15, ...rows.map((r) => r.ip.length));
  write(`  ${'rank'.padStart(4)}  ${'address'.padEnd(width)}  ${'requests'.padStart(9)}`);
  rows.forEach((row, i) => {
    write(
      `  ${String(i + 1).padStart(4)}  ${row.ip.padEnd(width)}  ${String(row.count).padStart(9)}`,
    );
  });
  write('');
  write(
    `tracker: ${((requests / trackedMs) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 })} requests/s, top(${top}) in ${topMs.toFixed(3)} ms, tables ${(tracker.memoryBytes / 1e6).toFixed(1)} MB`,
  );
}
