import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { countOption, flag, option } from '../args.js';
import { machine as host, writeResults } from '../results.js';
import { median, spread } from '../stats.js';

/*
 * npm run bench:persist [-- --rounds 3 --addresses 20000000 --tokens 1000000 --keys 100000]
 * npm run bench:persist -- --quick     smoke run: small sizes, 1 round (persist-quick.*)
 *
 * Saves and loads through hitwarden's own files (src/persist: the checksummed format, the
 * temporary file, fsync, rename, the folder's fsync) for a tracker of N distinct addresses, a
 * memory store of M tokens (one event each, every tenth banned) and a hit counter of K keys;
 * the longest a request loop waited while the tracker was being saved (batches of 1,000
 * requests, one per macrotask, a tenth from new addresses), and for comparison the longest it
 * waited in the second it ran before the save; and beside the store,
 * rate-limiter-flexible's `RateLimiterMemory` with M keys: `dump()` + `JSON.stringify` to a
 * file, and `readFile` + `JSON.parse` + `restore()`. Each case runs each round in a process
 * of its own, as a service would hold one engine's state. Results: bench/results/persist.md.
 */

const quick = flag('quick');
const rounds = countOption('rounds', quick ? 1 : 3);
const ADDRESSES = countOption('addresses', quick ? 200_000 : 20_000_000);
const TOKENS = countOption('tokens', quick ? 20_000 : 1_000_000);
const KEYS = countOption('keys', quick ? 2_000 : 100_000);
/** Set in the child process that runs one round of one case (see the end of this file). */
const child = option('child', '');
/** How long the request loop runs before the tracker's save starts. */
const QUIET_MS = 1000;

const { IpTracker, MemoryStore, BanHammer, HitCounter, SlidingWindowCounter } = await import(
  '../../src/index.js'
);
const { saveState, loadState } = await import('../../src/persist/saved-state.js');

const dir = child === '' ? '' : mkdtempSync(join(tmpdir(), 'hitwarden-bench-persist-'));
const textOf = (i: number) => {
  const w = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
};
const sizeOf = (file: string) => statSync(file).size;

async function trackerRound() {
  const tracker = new IpTracker({ expectedAddresses: ADDRESSES + ADDRESSES / 10 });
  for (let i = 0; i < ADDRESSES; i++) tracker.requestHandled(textOf(i));
  const file = join(dir, 'tracker.state');
  // The request loop beside the save: what a request arriving during it waited at most. It
  // runs for a while first, so what it waits without a save is measured too (`quietGapMs`)
  // and the save does not start in the wake of the fill above.
  // 'saving' lasts until the overlay has merged back after release(): part of the save's cost.
  let phase: 'quiet' | 'saving' = 'quiet';
  let saved = false;
  const longest = { quiet: 0, saving: 0 };
  let fresh = ADDRESSES;
  let served = 0;
  const loop = new Promise<void>((resolve) => {
    let last = performance.now();
    const tick = () => {
      longest[phase] = Math.max(longest[phase], performance.now() - last);
      for (let i = 0; i < 1000; i++)
        tracker.requestHandled(textOf(i % 10 === 0 ? fresh++ : i * 7919));
      if (phase === 'saving') served += 1000;
      last = performance.now();
      if (!saved || tracker.merging) setImmediate(tick);
      else resolve();
    };
    setImmediate(tick);
  });
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
  phase = 'saving';
  const sizeAtFreeze = tracker.size;
  let start = performance.now();
  const exported = tracker.exportState();
  await saveState(file, 'hitwarden.ip-tracker', exported.image);
  exported.release();
  const saveMs = performance.now() - start;
  saved = true;
  await loop;
  start = performance.now();
  const loaded = await loadState(file, 'hitwarden.ip-tracker');
  const fresh2 = new IpTracker({ expectedAddresses: 16 });
  fresh2.loadState(loaded.image, { adopt: true }); // as serve --state does
  const loadMs = performance.now() - start;
  // The file holds the tracker as it was at the freeze.
  if (fresh2.size !== sizeAtFreeze)
    throw new Error(`loaded ${fresh2.size} addresses, saved ${sizeAtFreeze}`);
  return {
    saveMs,
    loadMs,
    bytes: sizeOf(file),
    longestGapMs: longest.saving,
    quietGapMs: longest.quiet,
    servedDuringSave: served,
  };
}

const bans = {
  login: { thresholds: [{ limit: 5, window: 60, action: [], action_duration: 600 }] },
};
const tokens = child === '' ? [] : Array.from({ length: TOKENS }, (_, i) => textOf(i));

async function storeRound() {
  const now = Date.now();
  const store = new MemoryStore({ maxTokens: TOKENS });
  const hammer = new BanHammer(bans, { store, clock: () => now });
  for (let i = 0; i < TOKENS; i++) {
    void hammer.incr(tokens[i]!, 'login');
    if (i % 10 === 0) await hammer.now(tokens[i]!, 'login', 0);
  }
  const file = join(dir, 'store.state');
  let start = performance.now();
  const exported = store.exportState();
  await saveState(file, 'hitwarden.memory-store', exported.image);
  exported.release();
  const saveMs = performance.now() - start;
  start = performance.now();
  const restored = new MemoryStore({ maxTokens: TOKENS });
  restored.loadState((await loadState(file, 'hitwarden.memory-store')).image);
  const again = new BanHammer(bans, { store: restored, clock: () => now });
  const loadMs = performance.now() - start;
  if (
    JSON.stringify(await again.status(tokens[10]!, 'login')) !==
    JSON.stringify(await hammer.status(tokens[10]!, 'login'))
  ) {
    throw new Error('restored store differs');
  }
  await hammer.close();
  await again.close();
  return { saveMs, loadMs, bytes: sizeOf(file) };
}

async function peerRound() {
  const limiter = new RateLimiterMemory({ points: 5, duration: 60, blockDuration: 600 });
  for (let i = 0; i < TOKENS; i++) {
    await limiter.consume(tokens[i]!).catch(() => {});
    if (i % 10 === 0) await limiter.block(tokens[i]!, 600);
  }
  const file = join(dir, 'rlf.json');
  let start = performance.now();
  await writeFile(file, JSON.stringify(limiter.dump()));
  const saveMs = performance.now() - start;
  start = performance.now();
  const restored = new RateLimiterMemory({ points: 5, duration: 60, blockDuration: 600 });
  restored.restore(JSON.parse(await readFile(file, 'utf8')));
  const loadMs = performance.now() - start;
  return { saveMs, loadMs, bytes: sizeOf(file) };
}

async function counterRound() {
  const counter = new HitCounter({
    strategy: new SlidingWindowCounter({ windowSeconds: 60, maxWindowSeconds: 3600 }),
    maxKeys: KEYS,
  });
  for (let i = 0; i < KEYS; i++) for (let k = 0; k < 5; k++) counter.record(`key-${i}`);
  const file = join(dir, 'counter.state');
  let start = performance.now();
  const exported = counter.exportState();
  await saveState(file, 'hitwarden.hit-counter', exported.image);
  exported.release();
  const saveMs = performance.now() - start;
  start = performance.now();
  const again = new HitCounter({
    strategy: new SlidingWindowCounter({ windowSeconds: 60, maxWindowSeconds: 3600 }),
    maxKeys: KEYS,
  });
  again.loadState((await loadState(file, 'hitwarden.hit-counter')).image);
  const loadMs = performance.now() - start;
  return { saveMs, loadMs, bytes: sizeOf(file) };
}

type Round = {
  saveMs: number;
  loadMs: number;
  bytes: number;
  longestGapMs?: number;
  quietGapMs?: number;
};
const runs = { tracker: trackerRound, store: storeRound, peer: peerRound, counter: counterRound };
if (child !== '') {
  // One round of one case, in a process of its own: what it prints last is its result.
  const r = await runs[child as keyof typeof runs]();
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(r));
  process.exit(0);
}

const results: Record<string, Round[]> = { tracker: [], store: [], peer: [], counter: [] };
for (let round = 0; round < rounds; round++) {
  for (const name of Object.keys(runs)) {
    // A fresh process per case and round: rate-limiter-flexible's keys each hold a timer, so
    // its 1M keys stay on the heap for their 600 s, and every later case in a shared process
    // ran beside a 1–2 GB heap (full collections of 1–2 s).
    const output = execFileSync(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        ...process.argv.slice(2),
        '--child',
        name,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 },
    );
    const r = JSON.parse(output.trim().split('\n').pop()!) as Round;
    results[name]!.push(r);
    console.log(
      `round ${round + 1} ${name.padEnd(8)} save ${r.saveMs.toFixed(0)} ms, load ${r.loadMs.toFixed(0)} ms, ${(r.bytes / 1e6).toFixed(1)} MB${r.longestGapMs !== undefined ? `, longest request wait ${r.longestGapMs.toFixed(1)} ms (${r.quietGapMs!.toFixed(1)} ms without a save)` : ''} (load avg ${loadavg()[0]!.toFixed(2)})`,
    );
  }
}

const cell = (values: number[], digits = 0) => {
  const s = spread(values);
  return `${median(values).toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
};
const row = (label: string, rs: Round[]) =>
  `| ${label} | ${cell(rs.map((r) => r.saveMs))} | ${cell(rs.map((r) => r.loadMs))} | ${(median(rs.map((r) => r.bytes)) / 1e6).toFixed(1)} |`;
const ratio = (ours: Round[], theirs: Round[], key: 'saveMs' | 'loadMs') =>
  median(ours.map((r, i) => theirs[i]![key] / r[key])).toFixed(1);
const machine = host();
const markdown = `# bench:persist — saving and loading the engines

\`npm run bench:persist -- --rounds ${rounds}\` on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}; medians (and ranges) of ${rounds} rounds.
Every save goes through hitwarden's own state files: the checksummed format, a temporary file, fsync, rename, the folder's fsync.

| state | save ms | load ms | file MB |
| --- | ---: | ---: | ---: |
${row(`IpTracker, ${ADDRESSES.toLocaleString('en-US')} addresses`, results.tracker!)}
${row(`MemoryStore, ${TOKENS.toLocaleString('en-US')} tokens (a tenth banned)`, results.store!)}
${row(`rate-limiter-flexible RateLimiterMemory, ${TOKENS.toLocaleString('en-US')} keys: dump() + JSON.stringify + writeFile / readFile + JSON.parse + restore()`, results.peer!)}
${row(`HitCounter (sliding window), ${KEYS.toLocaleString('en-US')} keys`, results.counter!)}

- MemoryStore ÷ rate-limiter-flexible, same round: saves ${ratio(results.store!, results.peer!, 'saveMs')}× as fast, loads ${ratio(results.store!, results.peer!, 'loadMs')}× as fast (rate-limiter-flexible writes no checksum and does not fsync).
- While the tracker was saved (until its overlay had merged back), a request loop beside it (batches of 1,000, one per macrotask, a tenth from new addresses) waited at most ${cell(
  results.tracker!.map((r) => r.longestGapMs!),
  1,
)} ms between batches; in the ${QUIET_MS / 1000} s it ran before the save, at most ${cell(
  results.tracker!.map((r) => r.quietGapMs!),
  1,
)} ms.
`;
writeResults(
  quick ? 'persist-quick' : 'persist',
  { machine, rounds, ADDRESSES, TOKENS, KEYS, results },
  markdown,
);
console.log(`\n${markdown}`);
