/*
 * Turns the raw rounds of the tracker benchmark into bench/results/tracker.md: medians per
 * contender, the ratios issue 3 sets goals on, and whether each goal was met.
 */
import { median } from '../stats.js';
import type { ChildResult, PassResult } from './child.js';
import type { ContenderName } from './contenders.js';
import type { Family } from './input.js';

export interface BenchCase {
  id: string;
  family: Family;
  n: number;
  contenders: ContenderName[];
  note?: string;
}

export type BenchRun = Omit<ChildResult, 'top100'> & {
  top100: (Omit<NonNullable<ChildResult['top100']>, 'answer'> & { answerHash: string }) | null;
  /** Share of the machine's CPU time stolen by the hypervisor while this child ran. */
  stealPercent: number;
  /** Cores' worth of CPU that other processes on the machine used while this child ran. */
  otherLoad: number;
};

export interface BenchMeta {
  started: string;
  finished: string;
  command: string;
  quick: boolean;
  rounds: number;
  seed: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; v8: string };
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  cases: BenchCase[];
}

export interface Summary {
  rounds: number;
  uniqueRps: number;
  zipfRps: number;
  /** Both passes together: 2N requests over the two passes' summed time. */
  bothRps: number;
  top100Ms: number | null;
  rssAfterMB: number;
  rssGrowthMB: number;
  retainedMB: number;
  /** Median over rounds of the round's slowest post-warm-up batch (either pass). */
  maxBatchMs: number;
  /** The slowest batch of any round. */
  worstBatchMs: number;
  /** In that slowest batch: CPU time and overlapping GC pause. */
  worstBatchCpuMs: number;
  worstBatchGcMs: number;
  /** Worst over rounds of the longest batch counted on-CPU only. */
  worstOnCpuMs: number;
  /** Median over rounds of the batches over 1 ms on-CPU (both passes). */
  over1MsOnCpu: number;
  p999BatchMs: number;
  warmupMaxBatchMs: number;
  gcCount: number;
  gcMajorCount: number;
  gcMaxMs: number;
  size: number;
  stealPercent: number;
  otherLoad: number;
}

const slowerPass = (run: BenchRun): PassResult =>
  run.unique.maxBatchMs >= run.zipf.maxBatchMs ? run.unique : run.zipf;

export function summarise(runs: BenchRun[]): Summary {
  const worstRun = runs.reduce((a, b) =>
    slowerPass(b).maxBatchMs > slowerPass(a).maxBatchMs ? b : a,
  );
  const worst = slowerPass(worstRun);
  const tops = runs.flatMap((r) => (r.top100 ? [r.top100.medianMs] : []));
  return {
    rounds: runs.length,
    uniqueRps: median(runs.map((r) => r.unique.requestsPerSecond)),
    zipfRps: median(runs.map((r) => r.zipf.requestsPerSecond)),
    bothRps: median(runs.map((r) => (2 * r.task.n) / (r.unique.seconds + r.zipf.seconds))),
    top100Ms: tops.length > 0 ? median(tops) : null,
    rssAfterMB: median(runs.map((r) => r.memory.rssAfterRunMB)),
    rssGrowthMB: median(runs.map((r) => r.memory.rssGrowthMB)),
    retainedMB: median(runs.map((r) => r.memory.retainedMB)),
    maxBatchMs: median(runs.map((r) => slowerPass(r).maxBatchMs)),
    worstBatchMs: worst.maxBatchMs,
    worstBatchCpuMs: worst.maxBatchCpuMs,
    worstBatchGcMs: worst.maxBatchGcMs,
    worstOnCpuMs: Math.max(
      ...runs.map((r) => Math.max(r.unique.maxBatchOnCpuMs, r.zipf.maxBatchOnCpuMs)),
    ),
    over1MsOnCpu: median(
      runs.map((r) => r.unique.batchesOver1MsOnCpu + r.zipf.batchesOver1MsOnCpu),
    ),
    p999BatchMs: median(runs.map((r) => Math.max(r.unique.p999BatchMs, r.zipf.p999BatchMs))),
    warmupMaxBatchMs: median(
      runs.map((r) => Math.max(r.unique.warmupMaxBatchMs, r.zipf.warmupMaxBatchMs)),
    ),
    gcCount: median(runs.map((r) => r.unique.gcCount + r.zipf.gcCount)),
    gcMajorCount: median(runs.map((r) => r.unique.gcMajorCount + r.zipf.gcMajorCount)),
    gcMaxMs: Math.max(...runs.map((r) => Math.max(r.unique.gcMaxMs, r.zipf.gcMaxMs))),
    size: median(runs.map((r) => r.size)),
    stealPercent: median(runs.map((r) => r.stealPercent)),
    otherLoad: median(runs.map((r) => r.otherLoad)),
  };
}

// ---- formatting ----

const mps = (rps: number) => `${(rps / 1e6).toFixed(2)}M/s`;
const mb = (value: number) => `${value.toFixed(0)} MB`;

function ms(value: number | null): string {
  if (value === null || Number.isNaN(value)) return '—';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(0)} ms`;
  if (value >= 1) return `${value.toFixed(1)} ms`;
  return `${value.toPrecision(2)} ms`;
}

function count(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

const caseTitle = (c: BenchCase) => `IPv${c.family}, N = ${count(c.n)}`;

interface Goal {
  text: string;
  met: boolean | null;
  detail: string;
}

type Summaries = Map<string, Map<ContenderName, Summary>>;

function summariesOf(meta: BenchMeta, allRuns: BenchRun[]): Summaries {
  const runs = allRuns.filter((r) => !r.task.perCall);
  const out: Summaries = new Map();
  for (const c of meta.cases) {
    const byContender = new Map<ContenderName, Summary>();
    for (const name of c.contenders) {
      const mine = runs.filter((r) => r.task.caseId === c.id && r.task.contender === name);
      if (mine.length > 0) byContender.set(name, summarise(mine));
    }
    out.set(c.id, byContender);
  }
  return out;
}

/** The Map contender with the higher request throughput (both do the same per request). */
function bestMap(byContender: Map<ContenderName, Summary>): [ContenderName, Summary] | null {
  const candidates = (['map-sort', 'map-heap'] as const).flatMap((name) => {
    const s = byContender.get(name);
    return s ? [[name, s] as [ContenderName, Summary]] : [];
  });
  if (candidates.length === 0) return null;
  return candidates.reduce((a, b) => (b[1].bothRps > a[1].bothRps ? b : a));
}

function ratioLines(
  meta: BenchMeta,
  all: Summaries,
  latencyRuns: BenchRun[],
): { rows: string[]; goals: Goal[] } {
  const rows: string[] = [];
  const goals: Goal[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

  for (const c of meta.cases) {
    const byContender = all.get(c.id)!;
    const bare = byContender.get('bare-table');
    for (const name of ['hitwarden', 'hitwarden-presized'] as const) {
      const hw = byContender.get(name);
      if (!hw || !bare) continue;
      const u = hw.uniqueRps / bare.uniqueRps;
      const z = hw.zipfRps / bare.zipfRps;
      rows.push(
        `| ${name} ÷ bare-table, unique pass | ${caseTitle(c)} | ${u.toFixed(2)} | ≥ 0.90 |`,
      );
      rows.push(`| ${name} ÷ bare-table, Zipf pass | ${caseTitle(c)} | ${z.toFixed(2)} | ≥ 0.90 |`);
      goals.push({
        text: `${name} ≥ 90% of the bare table's throughput on both passes (${caseTitle(c)})`,
        met: u >= 0.9 && z >= 0.9,
        detail: `unique ${pct(u)}, Zipf ${pct(z)}${u < 0.9 || z < 0.9 ? ` — short by ${pct(0.9 - Math.min(u, z))} of the bare table` : ''}`,
      });
    }
    const hw = byContender.get('hitwarden');
    const map = bestMap(byContender);
    if (hw && map) {
      const r = hw.bothRps / map[1].bothRps;
      rows.push(
        `| hitwarden ÷ ${map[0]}, both passes | ${caseTitle(c)} | ${r.toFixed(2)}× | ≥ 2× |`,
      );
      goals.push({
        text: `hitwarden ≥ 2× the Map over both passes (${caseTitle(c)}; the faster Map, ${map[0]})`,
        met: r >= 2,
        detail: `${r.toFixed(2)}×${r < 2 ? ` — ${(2 - r).toFixed(2)}× short` : ''}`,
      });
    }
  }

  const big = meta.cases.find((c) => c.family === 4 && c.n === 20_000_000);
  const bigHw = big ? all.get(big.id)?.get('hitwarden') : undefined;
  if (big && bigHw) {
    const top = bigHw.top100Ms;
    goals.push({
      text: 'top100() ≤ 0.05 ms at 20M addresses',
      met: top !== null && top <= 0.05,
      detail: `${ms(top)} (median of the per-process medians)${top !== null && top > 0.05 ? ` — ${(top / 0.05).toFixed(1)}× the budget` : ''}`,
    });
    goals.push({
      text: '≤ 350 MB for 20M IPv4 addresses (memory the tracker retains: heap + typed arrays)',
      met: bigHw.retainedMB <= 350,
      detail: `retained ${mb(bigHw.retainedMB)}; RSS growth over the pre-tracker baseline ${mb(bigHw.rssGrowthMB)}${bigHw.retainedMB > 350 ? ` — ${mb(bigHw.retainedMB - 350)} over` : ''}`,
    });
  }
  // The bare table cannot pause by itself (no growth, no top list, no allocation): whatever
  // it shows is the machine's floor for these measures, so each pause goal quotes it.
  const slowestCalls = (run: BenchRun) => ({
    slowest: Math.max(run.unique.calls?.slowestOnCpuMs ?? 0, run.zipf.calls?.slowestOnCpuMs ?? 0),
    over: (run.unique.calls?.over1MsOnCpu ?? 0) + (run.zipf.calls?.over1MsOnCpu ?? 0),
  });
  for (const run of latencyRuns) {
    const name = run.task.contender;
    if (!name.startsWith('hitwarden')) continue;
    const { slowest, over } = slowestCalls(run);
    const floorRun = latencyRuns.find(
      (r) => r.task.contender === 'bare-table' && r.task.caseId === run.task.caseId,
    );
    const floor = floorRun ? slowestCalls(floorRun) : null;
    const c = meta.cases.find((x) => x.id === run.task.caseId);
    goals.push({
      text: `no single requestHandled call over 1 ms (${name}, ${c ? caseTitle(c) : run.task.caseId}, every call timed)`,
      met: slowest <= 1,
      detail:
        `slowest call on-CPU ${ms(slowest)}, ${over} call(s) over 1 ms on-CPU${slowest > 1 ? ` — ${ms(slowest - 1)} over` : ''}` +
        (floor
          ? `; the bare table, same measure: ${ms(floor.slowest)}, ${floor.over} call(s) over 1 ms`
          : ''),
    });
  }
  for (const c of meta.cases) {
    for (const name of ['hitwarden', 'hitwarden-presized'] as const) {
      const hw = all.get(c.id)?.get(name);
      if (!hw) continue;
      const bare = all.get(c.id)?.get('bare-table');
      const met = hw.worstOnCpuMs <= 1;
      goals.push({
        text: `no request-loop pause over 1 ms caused by the tracker (${name}, ${caseTitle(c)})`,
        met,
        detail:
          `slowest batch of 1,024 calls on-CPU ${ms(hw.worstOnCpuMs)}, ${hw.over1MsOnCpu} batch(es) over 1 ms on-CPU; ` +
          `by the wall clock ${ms(hw.worstBatchMs)} (CPU in it ${ms(hw.worstBatchCpuMs)}, GC in it ${ms(hw.worstBatchGcMs)}), ` +
          `p99.9 ${ms(hw.p999BatchMs)}` +
          (met ? '' : ` — ${ms(hw.worstOnCpuMs - 1)} over`) +
          (bare
            ? `; the bare table, same measure: ${ms(bare.worstOnCpuMs)}, ${bare.over1MsOnCpu} batch(es) over 1 ms`
            : ''),
      });
    }
  }
  return { rows, goals };
}

function agreement(meta: BenchMeta, runs: BenchRun[]): string[] {
  const lines: string[] = [];
  for (const c of meta.cases) {
    for (let round = 1; round <= meta.rounds; round++) {
      const mine = runs.filter(
        (r) => r.task.caseId === c.id && r.task.round === round && !r.task.perCall,
      );
      if (mine.length === 0) continue;
      const sizes = new Set(mine.map((r) => r.size));
      const counts = new Set(mine.flatMap((r) => (r.top100 ? [r.top100.counts.join(',')] : [])));
      const hw = new Set(
        mine
          .filter((r) => r.task.contender.startsWith('hitwarden'))
          .map((r) => r.top100?.answerHash),
      );
      const ok = sizes.size === 1 && counts.size <= 1 && hw.size <= 1;
      if (!ok) {
        lines.push(
          `- **${caseTitle(c)}, round ${round}: contenders disagree** (sizes ${[...sizes].join('/')}, ` +
            `${counts.size} distinct top-100 count lists, ${hw.size} distinct hitwarden answers)`,
        );
      }
    }
  }
  if (lines.length === 0) {
    lines.push(
      '- Every contender saw the same number of distinct addresses and returned the same top-100 ' +
        'counts in every round; hitwarden with and without the size hint returned identical answers.',
    );
  }
  return lines;
}

export function renderMarkdown(meta: BenchMeta, runs: BenchRun[]): string {
  const all = summariesOf(meta, runs);
  const m = meta.machine;
  const out: string[] = [];
  out.push(meta.quick ? '# IP tracker benchmark (quick smoke run)' : '# IP tracker benchmark');
  out.push('');
  out.push(`Command: \`${meta.command}\` (after \`npm run build\`, which the script runs).`);
  out.push('');
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node} (V8 ${m.v8}). ` +
      `Started ${meta.started}${meta.finished ? `, finished ${meta.finished}` : ' (still running or interrupted)'}; ` +
      `load average at start ${meta.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}` +
      `${meta.loadAverageAtEnd.length > 0 ? `, at end ${meta.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' ')}` : ''}` +
      '. The machine is shared with other work (other sessions build and test on the same 2 cores): ' +
      '*other load* is the CPU, in cores, that other processes used while a measurement ran (from /proc/stat, ' +
      "minus the measuring process's own CPU time); at 1 or more, the measured process had to share a core, " +
      'which lowers its throughput and lengthens wall-clock pauses.',
  );
  out.push('');
  out.push(
    `Method: ${meta.rounds} round(s); each measurement is its own process ` +
      '(`node --expose-gc --max-old-space-size=…`), one at a time, contenders in a rotating order. ' +
      `Input (seed ${meta.seed}) is generated before timing and is identical for every contender: ` +
      'N distinct random addresses once each (the *unique* pass), then N requests drawn Zipf(1.0) over them ' +
      '(the *Zipf* pass), every request its own flat string. `gc()` runs before timing. ' +
      'Before the measured contender exists, a throwaway one of the same kind handles 250k other addresses ' +
      '(both passes) so V8 has compiled the request path, as in a service that has been running. ' +
      'Requests are fed in batches of 1,024 calls; the first 16 batches of each pass (first touches of fresh memory) are ' +
      'reported apart. Each batch is timed by the wall clock and by CPU time (getrusage, all threads); ' +
      '*on-CPU* is min(wall, CPU) per batch, which removes the time the VM was descheduled (this host ' +
      'takes the CPU away for ~4 ms ticks every few milliseconds, so wall-clock pauses of ~4–8 ms show up ' +
      'for every contender, the bare table included). GC pauses come from `perf_hooks` `gc` entries during the passes. ' +
      '`top100()` is the median of up to 9 calls after the passes (fewer when a call takes seconds). ' +
      'Memory: *RSS after* is the whole process after the run, input included; *RSS growth* is that minus the RSS ' +
      'just before the contender was created (input already built); *retained* is V8 heap + external (typed arrays) + the bytes a contender holds in `SharedArrayBuffer`s ' +
      "(hitwarden's tables, by its `memoryBytes`; `process.memoryUsage()` does not count them) " +
      'once the input is dropped and collected, over the empty process — the memory the structure itself holds ' +
      '(for a Map this includes its key strings).',
  );
  out.push('');
  out.push(
    "Reading the pauses: when *GC in it* is close to a batch's wall time, the pause was a V8 major " +
      '(mark-compact) collection. Its length scales with everything on the JS heap, and here the heap holds the ' +
      'pre-generated input — 2N flat strings, about 1.5 GB at 20M — so a collection that a service with a small ' +
      'heap would finish in milliseconds takes around a second. Which contender *triggers* it is still telling: ' +
      'the bare table never does, a `Map` does as it grows, and so does anything that allocates large typed ' +
      'arrays mid-run (V8 counts their memory as external and collects when it grows by tens of MB) — ' +
      "which is why hitwarden's tables live in `SharedArrayBuffer`s, which V8 leaves out of that count.",
  );
  out.push('');
  out.push(
    'Contenders: `hitwarden` = `new IpTracker()`; `hitwarden-presized` = `new IpTracker({ expectedAddresses: N })`;',
  );
  out.push("`map-sort` = `Map<string, number>` + full sort in `top100()` (the seeds' approach);");
  out.push(
    '`map-heap` = the same `Map` + one pass with a 100-entry min-heap; `bare-table` = presized typed-array',
  );
  out.push(
    'open addressing that parses IPv4 digits and counts, no validation, no top-K, no growth (the cost floor).',
  );
  out.push('');
  out.push(`## Medians of ${meta.rounds} round(s)`);
  for (const c of meta.cases) {
    const byContender = all.get(c.id)!;
    if (byContender.size === 0) continue;
    out.push('');
    out.push(`### ${caseTitle(c)}`);
    if (c.note) {
      out.push('');
      out.push(c.note);
    }
    out.push('');
    out.push(
      '| contender | unique pass | Zipf pass | both passes | `top100()` | RSS after | RSS growth | retained | slowest batch on-CPU (worst) | batches > 1 ms on-CPU | slowest batch wall (median / worst) | p99.9 batch wall | GC in passes: count (major) / max | other load |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, s] of byContender) {
      out.push(
        `| ${name} | ${mps(s.uniqueRps)} | ${mps(s.zipfRps)} | ${mps(s.bothRps)} | ${ms(s.top100Ms)} | ` +
          `${mb(s.rssAfterMB)} | ${mb(s.rssGrowthMB)} | ${mb(s.retainedMB)} | ${ms(s.worstOnCpuMs)} | ${s.over1MsOnCpu} | ` +
          `${ms(s.maxBatchMs)} / ${ms(s.worstBatchMs)} | ` +
          `${ms(s.p999BatchMs)} | ${s.gcCount} (${s.gcMajorCount}) / ${ms(s.gcMaxMs)} | ${s.otherLoad.toFixed(2)} |`,
      );
    }
  }
  const latencyRuns = runs.filter((r) => r.task.perCall);
  if (latencyRuns.length > 0) {
    out.push('');
    out.push('## Slowest single call (latency runs)');
    out.push('');
    out.push(
      'One extra run per contender in which every call is timed on its own by the wall clock (the ' +
        'timing slows the run, so these runs count in no throughput above). CPU time is read once per ' +
        'batch of 1,024 calls — reading it allocates, and per call that would make the harness start ' +
        'collections of its own — and a slow call is charged on-CPU its wall time minus the time its ' +
        'batch spent off the CPU. The first 16 × 1,024 calls of each pass are left out, as above. A batch of ' +
        "1,024 calls adds up 1,024 calls' first touches of fresh pages (the system zero-fills a page on " +
        'its first write, ~10–20 µs each on this VM), so it can pass 1 ms while no call comes near it; ' +
        'this table shows the calls themselves.',
    );
    out.push('');
    out.push(
      '| case | contender | slowest call on-CPU | calls > 1 ms on-CPU | calls > 0.1 ms on-CPU | slowest call wall |',
    );
    out.push('|---|---|---:|---:|---:|---:|');
    for (const r of latencyRuns) {
      const c = meta.cases.find((x) => x.id === r.task.caseId);
      const u = r.unique.calls;
      const z = r.zipf.calls;
      if (!u || !z) continue;
      out.push(
        `| ${c ? caseTitle(c) : r.task.caseId} | ${r.task.contender} | ${ms(Math.max(u.slowestOnCpuMs, z.slowestOnCpuMs))} | ` +
          `${u.over1MsOnCpu + z.over1MsOnCpu} | ${u.over100UsOnCpu + z.over100UsOnCpu} | ${ms(Math.max(u.slowestWallMs, z.slowestWallMs))} |`,
      );
    }
  }
  const { rows, goals } = ratioLines(meta, all, latencyRuns);
  out.push('');
  out.push('## Ratios');
  out.push('');
  if (rows.length === 0) {
    out.push('No ratio could be formed from this run (hitwarden not measured).');
  } else {
    out.push('| ratio | case | value | goal |');
    out.push('|---|---|---:|---:|');
    out.push(...rows);
  }
  out.push('');
  out.push('## Goals (issue 3)');
  out.push('');
  if (goals.length === 0) out.push('Not evaluated: hitwarden was not part of this run.');
  for (const g of goals) {
    out.push(
      `- ${g.met === null ? '?' : g.met ? '**met**' : '**missed**'}: ${g.text} — ${g.detail}`,
    );
  }
  out.push('');
  out.push('## Cross-check');
  out.push('');
  out.push(...agreement(meta, runs));
  out.push('');
  return out.join('\n');
}
