// One benchmark measurement in a fresh process: one contender, one key set, one mode.
// Started by run.ts with `node --expose-gc --import tsx child.ts '<json>'`; prints one JSON line.
//
// Contenders:
//   hitwarden       BanHammer#incr on the default MemoryStore (the async API); in mode many,
//                   BanHammer#incrMany over arrays of `batch` tokens, awaited one after another
//   hitwarden-core  the memory store's synchronous decisions (store.openSync().incr), no promises; in
//                   mode sync-batch, their incrMany over arrays of `batch` tokens
//   hitwarden-core-presized  the same, with initialCapacity = the number of distinct tokens
//                   (what a caller who knows its traffic can ask for): shows what growth costs
//   rlf             rate-limiter-flexible RateLimiterMemory#consume
//   map-floor       not a limiter: a plain Map<string, number> `set` per event, the least a
//                   JS hash table keyed by the token string costs (the floor for the core)
//   map-state-floor not a limiter either: the Map finds or adds the token's slot, one clock
//                   read per event, and the slot's fixed-size state (last time, count) in a
//                   Float64Array: the least work a sync decision can do with a Map
//   table-floor     not a limiter either: the skeleton of hitwarden's core alone, presized and
//                   with nothing else — one clock read, a seeded FNV-1a hash of the token, a
//                   linear probe of an Int32Array index of (slot + 1, hash) pairs, and the
//                   first write to a fresh 64-byte record — the floor of this design; in
//                   mode sync-batch, the same done the way incrMany does it (see there)
//
// Both async contenders are configured so that neither ever refuses in these runs: the
// BanHammer allows 100,000 events per millisecond (Date.now's tick: that would take 100M
// decisions a second; 10 ms, used before, was reached once the hot-token core ran at ~10M/s),
// with a 60 s ban and blockLocal as its action; rate-limiter-flexible allows 1e9 points per
// hour.

import * as hitwarden from 'hitwarden';

export const CONTENDERS = [
  'hitwarden',
  'hitwarden-core',
  'hitwarden-core-presized',
  'rlf',
  'map-floor',
  'map-state-floor',
  'table-floor',
] as const;
export type Contender = (typeof CONTENDERS)[number];

/** `hot`: one token for every decision; `distinct`: a fresh token for each. */
export type KeySet = 'hot' | 'distinct';

/**
 * sequential: one awaited decision after another; batch: `batch` decisions started, then all
 * awaited; many: BanHammer#incrMany per `batch` tokens; sync: the synchronous call per
 * decision; sync-batch: the synchronous incrMany per `batch` tokens; sync-timed: sync with
 * every call timed on its own.
 */
export type Mode = 'sequential' | 'batch' | 'many' | 'sync' | 'sync-batch' | 'sync-timed';

export interface Case {
  contender: Contender;
  keys: KeySet;
  mode: Mode;
  decisions: number;
  batch: number;
}

export interface Sample extends Case {
  seconds: number;
  perSecond: number;
  cpuSeconds: number;
  perCpuSecond: number;
  systemSeconds: number;
  pageFaults: number;
  refused: number;
  /** sync-timed only: the slowest single call, and how many took over 1 ms. */
  slowestCallMs: number | null;
  callsOver1Ms: number | null;
  /** distinct keys only: what the contender holds per token after the run. */
  bytesPerToken: number | null;
}

/** A synchronous decision: bit 0 set when the event passed. */
type DecideSync = (token: string) => number;
/** An asynchronous one: false (or a rejection) when refused. */
type DecideAsync = (token: string) => Promise<unknown>;

const options = JSON.parse(process.argv[2]!) as Case;
const { contender, keys, mode, decisions, batch } = options;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('child.ts needs node --expose-gc');

function makeTokens(): string[] {
  if (keys === 'hot') return ['203.0.113.77'];
  // Distinct IPv4 text tokens, made before measuring so that neither contender pays for them
  // and the heap figure counts only what the limiter keeps. Each is a flat string copied out
  // of a Buffer, the way a socket or a log parser hands one over (as in the tracker's
  // benchmark): a template literal of 13+ characters would be a V8 cons string, which the
  // first hash of it, by either contender, would have to flatten, a cost no request path pays.
  const scratch = Buffer.allocUnsafe(16);
  const tokens = new Array<string>(decisions);
  for (let i = 0; i < decisions; i++) {
    const length = scratch.write(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, 'latin1');
    tokens[i] = scratch.toString('latin1', 0, length);
  }
  return tokens;
}

const tokens = makeTokens();
const tokenAt: (i: number) => string =
  keys === 'hot' ? () => tokens[0]! : (i: number) => tokens[i]!;
// sync-batch hands the core arrays of `batch` tokens: cut before measuring, like the tokens.
const chunks: string[][] = [];
if (mode === 'sync-batch' || mode === 'many') {
  for (let i = 0; i < decisions; i += batch) {
    const n = Math.min(batch, decisions - i);
    chunks.push(Array.from({ length: n }, (_, k) => tokenAt(i + k)));
  }
}

/** Bytes a contender holds in SharedArrayBuffers (hitwarden's tables), which
 *  process.memoryUsage() does not count. */
let sharedBytes = () => 0;

function memory(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  // Typed arrays live outside the JS heap (external): count both, and the shared buffers.
  return usage.heapUsed + usage.external + sharedBytes();
}

const before = memory();
const notBuilt = (what: string) => () => {
  throw new Error(`${contender} has no ${what} decision (mode ${mode})`);
};
let decide: DecideSync = notBuilt('synchronous');
let decideAsync: DecideAsync = notBuilt('asynchronous');
/** sync-batch: decides a chunk of tokens in one call, returns how many passed. */
let decideMany: (chunk: string[]) => number = notBuilt('synchronous batch');
/** many: the same through the async API. */
let decideManyAsync: (chunk: string[]) => Promise<number> = notBuilt('asynchronous batch');
let keep: unknown;
/** Where a floor leaves loads it makes only to bring lines into cache. */
const prefetchSink = new Int32Array(1);
if (contender === 'rlf') {
  // Loaded here only, so that no other contender's process holds it.
  const { RateLimiterMemory } = await import('rate-limiter-flexible');
  const limiter = new RateLimiterMemory({ points: 1e9, duration: 3600 });
  keep = limiter;
  decideAsync = (token) => limiter.consume(token);
} else if (contender === 'map-floor') {
  const map = new Map<string, number>();
  keep = map;
  let n = 0;
  decide = (token) => {
    map.set(token, n++);
    return 1;
  };
} else if (contender === 'map-state-floor') {
  const map = new Map<string, number>();
  // Two doubles per slot, grown by doubling like a real table would.
  let state = new Float64Array(2048);
  keep = { map, state: () => state };
  decide = (token) => {
    const now = Date.now();
    let slot = map.get(token);
    if (slot === undefined) {
      slot = map.size;
      map.set(token, slot);
      if (slot * 2 === state.length) {
        const bigger = new Float64Array(state.length * 2);
        bigger.set(state);
        state = bigger;
      }
    }
    state[slot * 2] = now;
    state[slot * 2 + 1]!++;
    return 1;
  };
} else if (contender === 'table-floor') {
  let positions = 16;
  while (positions < tokens.length * 2) positions *= 2;
  const mask = positions - 1;
  const index = new Int32Array(new SharedArrayBuffer(positions * 8));
  const records = new Float64Array(new SharedArrayBuffer(tokens.length * 64));
  const owners: string[] = [];
  keep = { index, records, owners };
  sharedBytes = () => index.byteLength + owners.length * 64;
  const hashOf = (token: string) => {
    let h = 0x2545f491;
    for (let k = 0; k < token.length; k++) h = Math.imul(h ^ token.charCodeAt(k), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    return h ^ (h >>> 13);
  };
  // Finds the token's slot (or adds it) and writes the event's time into its record.
  const record = (token: string, h: number, now: number) => {
    let at = h & mask;
    let slot = -1;
    for (;;) {
      const entry = index[at << 1]!;
      if (entry === 0) break;
      if (index[(at << 1) + 1] === h && owners[entry - 1] === token) {
        slot = entry - 1;
        break;
      }
      at = (at + 1) & mask;
    }
    if (slot === -1) {
      slot = owners.length;
      owners.push(token);
      index[at << 1] = slot + 1;
      index[(at << 1) + 1] = h;
    }
    records[(slot << 3) + 6] = now;
  };
  decide = (token) => {
    const now = Date.now();
    record(token, hashOf(token), now);
    return 1;
  };
  // The same skeleton the way incrMany works: per block of 64 tokens, the hashes first, a
  // loop that only loads their index positions, one clock read, then the probes.
  const hashes = new Int32Array(64);
  decideMany = (chunk) => {
    for (let start = 0; start < chunk.length; start += 64) {
      const end = Math.min(chunk.length, start + 64);
      for (let i = start; i < end; i++) hashes[i - start] = hashOf(chunk[i]!);
      let sink = 0;
      for (let k = 0; k < end - start; k++) sink |= index[(hashes[k]! & mask) << 1]!;
      prefetchSink[0] = sink;
      const now = Date.now();
      for (let i = start; i < end; i++) record(chunk[i]!, hashes[i - start]!, now);
    }
    return chunk.length;
  };
} else {
  const bans = {
    login_failed: {
      thresholds: [
        { limit: 100_000, window: 0.001, action: [hitwarden.blockLocal], action_duration: 60 },
      ],
    },
  };
  const store = new hitwarden.MemoryStore({
    initialCapacity: contender === 'hitwarden-core-presized' ? tokens.length : 1024,
  });
  sharedBytes = () => store.arrayBytes;
  if (contender === 'hitwarden-core' || contender === 'hitwarden-core-presized') {
    // The store's synchronous decisions, opened the way a BanHammer opens them.
    const threshold = bans.login_failed.thresholds[0]!;
    const core = store.openSync({
      clock: Date.now,
      metrics: [
        {
          name: 'login_failed',
          thresholds: [
            {
              limit: threshold.limit,
              windowSeconds: threshold.window,
              durationSeconds: threshold.action_duration,
              shadow: false,
            },
          ],
        },
      ],
    });
    keep = core;
    decide = (token) => core.incr(token, 0);
    const out = new Uint8Array(batch);
    decideMany = (chunk) => {
      core.incrMany(chunk, 0, out);
      let passed = 0;
      for (let k = 0; k < chunk.length; k++) passed += out[k]! & 1;
      return passed;
    };
  } else {
    const hammer = new hitwarden.BanHammer(bans, { store });
    keep = hammer;
    decideAsync = (token) => hammer.incr(token, 'login_failed');
    decideManyAsync = async (chunk) => {
      let passed = 0;
      for (const ok of await hammer.incrMany(chunk, 'login_failed')) if (ok) passed++;
      return passed;
    };
  }
}

// Held from the global object so the optimiser cannot free the limiter before we measure.
(globalThis as { __keep?: unknown }).__keep = keep;

let refused = 0;
// sync-timed: every call timed on its own, for the slowest single decision (the timing slows
// the loop, so its rates are not comparable with the other modes').
let slowestCallMs: number | null = null;
let callsOver1Ms: number | null = null;
const faultsStart = process.resourceUsage().minorPageFault;
const cpuStart = process.cpuUsage();
const start = performance.now();
if (mode === 'sync-timed') {
  let slowest = 0;
  let over1Ms = 0;
  for (let i = 0; i < decisions; i++) {
    const before = performance.now();
    if ((decide(tokenAt(i)) & 1) === 0) refused++;
    const took = performance.now() - before;
    if (took > slowest) slowest = took;
    if (took > 1) over1Ms++;
  }
  slowestCallMs = slowest;
  callsOver1Ms = over1Ms;
} else if (mode === 'sync-batch') {
  for (const chunk of chunks) refused += chunk.length - decideMany(chunk);
} else if (mode === 'many') {
  for (const chunk of chunks) refused += chunk.length - (await decideManyAsync(chunk));
} else if (mode === 'sync') {
  for (let i = 0; i < decisions; i++) {
    if ((decide(tokenAt(i)) & 1) === 0) refused++;
  }
} else if (mode === 'sequential') {
  for (let i = 0; i < decisions; i++) {
    try {
      const passed = await decideAsync(tokenAt(i));
      if (passed === false) refused++;
    } catch {
      refused++;
    }
  }
} else {
  const pending = new Array<Promise<unknown>>(batch);
  for (let i = 0; i < decisions; i += batch) {
    const n = Math.min(batch, decisions - i);
    for (let k = 0; k < n; k++) pending[k] = decideAsync(tokenAt(i + k));
    try {
      const results = await Promise.all(n === batch ? pending : pending.slice(0, n));
      for (const passed of results) if (passed === false) refused++;
    } catch {
      // rate-limiter-flexible rejects a consume that is over its limit: never expected here.
      refused += n;
    }
  }
}
const seconds = (performance.now() - start) / 1000;
// CPU time of the whole process (every thread: GC helpers, the compiler) during the loop:
// unlike wall time, it does not count time the process waited for a core that other work on
// the machine held, so it varies less under load; it over-counts the loop's own CPU a little.
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
// First touches of fresh memory (the tables' pages, the heap's) are page faults the kernel
// serves in system time: a large part of filling a store with a million tokens.
const pageFaults = process.resourceUsage().minorPageFault - faultsStart;
const after = memory();
const result: Sample = {
  ...options,
  seconds,
  perSecond: decisions / seconds,
  cpuSeconds,
  perCpuSecond: decisions / cpuSeconds,
  systemSeconds: cpu.system / 1e6,
  pageFaults,
  refused,
  slowestCallMs,
  callsOver1Ms,
  bytesPerToken: keys === 'distinct' ? (after - before) / tokens.length : null,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
