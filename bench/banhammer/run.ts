// BanHammer benchmark: hitwarden's BanHammer (memory store) against rate-limiter-flexible's
// RateLimiterMemory, same run, same input, each measurement in its own process.
//
//   npm run bench:banhammer                               (builds first)
//   npm run bench:banhammer -- --rounds 5 --distinct 1000000 --hot 2000000
//   npm run bench:banhammer -- --quick                    smoke run: 1 round, small sizes
//
// Writes bench/results/banhammer.json and banhammer.md (a quick run: banhammer-quick.*).

import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { countOption, flag } from '../args.js';
import { machine, writeResults } from '../results.js';
import { median } from '../stats.js';
import type { Case, Contender, KeySet, Mode, Sample } from './child.js';

const childScript = fileURLToPath(new URL('./child.ts', import.meta.url));
const quick = flag('quick');
const rounds = countOption('rounds', quick ? 1 : 3);
const distinct = countOption('distinct', quick ? 100_000 : 1_000_000);
const hot = countOption('hot', quick ? 200_000 : 2_000_000);
const batch = 1000;

const cases: Case[] = [];
for (const keys of ['hot', 'distinct'] as const) {
  const decisions = keys === 'hot' ? hot : distinct;
  for (const mode of ['sequential', 'batch'] as const) {
    for (const contender of ['hitwarden', 'rlf'] as const)
      cases.push({ contender, keys, mode, decisions, batch });
  }
  // BanHammer#incrMany: one call per `batch` tokens (rate-limiter-flexible has no batch call).
  cases.push({ contender: 'hitwarden', keys, mode: 'many', decisions, batch });
  // The presized core and the floors are about fresh keys: run them on the distinct set only.
  const sync: Contender[] =
    keys === 'hot'
      ? ['hitwarden-core']
      : [
          'hitwarden-core',
          'hitwarden-core-presized',
          'map-floor',
          'map-state-floor',
          'table-floor',
        ];
  for (const contender of sync) cases.push({ contender, keys, mode: 'sync', decisions, batch });
  // The core's batch entry point (incrMany over arrays of `batch` tokens), and on fresh keys
  // the same presized and the table floor done the same way.
  const batched: Contender[] =
    keys === 'hot'
      ? ['hitwarden-core']
      : ['hitwarden-core', 'hitwarden-core-presized', 'table-floor'];
  for (const contender of batched) {
    cases.push({ contender, keys, mode: 'sync-batch', decisions, batch });
  }
}
// The slowest single decision while 1M fresh tokens fill the store (its tables grow).
cases.push({
  contender: 'hitwarden-core',
  keys: 'distinct',
  mode: 'sync-timed',
  decisions: distinct,
  batch,
});

const samples: (Sample & { round: number })[] = [];
const loadAtStart = loadavg()[0]!;
for (let round = 1; round <= rounds; round++) {
  // Contenders interleaved within each round, so load from other work on the machine spreads
  // over all of them instead of landing on one.
  for (const options of cases) {
    const output = execFileSync(
      process.execPath,
      [
        '--expose-gc',
        '--max-old-space-size=4096',
        '--import',
        'tsx',
        childScript,
        JSON.stringify(options),
      ],
      { encoding: 'utf8' },
    );
    const sample = JSON.parse(output.trim().split('\n').pop()!) as Sample;
    samples.push({ round, ...sample });
    process.stderr.write(
      `round ${round} ${options.contender.padEnd(15)} ${options.keys.padEnd(8)} ${options.mode.padEnd(10)} ` +
        `${(sample.perSecond / 1e6).toFixed(2)} M/s` +
        (sample.bytesPerToken === null ? '' : `, ${sample.bytesPerToken.toFixed(0)} B/token`) +
        `${sample.refused ? `, ${sample.refused} refused!` : ''}\n`,
    );
  }
}

/** The figures a mode measures (the others are null). */
const present = (values: (number | null)[]) => values.filter((v): v is number => v !== null);

const summary = cases.map(({ contender, keys, mode, decisions }) => {
  const mine = samples.filter(
    (s) => s.contender === contender && s.keys === keys && s.mode === mode,
  );
  const bytes = present(mine.map((s) => s.bytesPerToken));
  return {
    contender,
    keys,
    mode,
    decisions,
    rounds: mine.length,
    medianPerSecond: median(mine.map((s) => s.perSecond)),
    medianPerCpuSecond: median(mine.map((s) => s.perCpuSecond)),
    medianSystemSeconds: median(mine.map((s) => s.systemSeconds)),
    medianPageFaults: median(mine.map((s) => s.pageFaults)),
    medianBytesPerToken: bytes.length ? median(bytes) : null,
    refused: mine.reduce((sum, s) => sum + s.refused, 0),
    slowestCallMs:
      mode === 'sync-timed' ? Math.max(...present(mine.map((s) => s.slowestCallMs))) : null,
    callsOver1Ms: mode === 'sync-timed' ? median(present(mine.map((s) => s.callsOver1Ms))) : null,
  };
});

type Row = (typeof summary)[number];
const find = (contender: Contender, keys: KeySet, mode: Mode): Row => {
  const row = summary.find((s) => s.contender === contender && s.keys === keys && s.mode === mode);
  if (row === undefined) throw new Error(`no ${contender} ${keys} ${mode} in this run`);
  return row;
};

const meta = {
  date: new Date().toISOString(),
  ...machine(),
  quick,
  rounds,
  distinctTokens: distinct,
  hotDecisions: hot,
  batch,
  loadAverage: { start: loadAtStart, end: loadavg()[0]! },
};

const fmt = (n: number) => `${(n / 1e6).toFixed(2)} M/s`;
const lines = [
  '# BanHammer benchmark',
  '',
  `Same run, same input, each measurement in its own process; medians of ${rounds} rounds.`,
  `${meta.date}, Node ${meta.node}, ${meta.cores} × ${meta.cpu} (shared with other work: 1-minute load average ${meta.loadAverage.start.toFixed(1)} at the start, ${meta.loadAverage.end.toFixed(1)} at the end).`,
  `Reproduce: \`npm run bench:banhammer${quick ? ' -- --quick' : ''}\` (\`--rounds\`, \`--distinct\`, \`--hot\` override the sizes).`,
  '',
  '- **hitwarden**: `BanHammer#incr` on the default `MemoryStore` (exact thresholds, rates over',
  '  1/10/60 min, bans, `blockLocal` action), configured so that nothing is refused',
  `  (100,000 events per millisecond); on the \`incrMany\` rows, \`BanHammer#incrMany\` over arrays of ${batch}`,
  '  tokens, one call awaited after another (rate-limiter-flexible has no batch call: its row',
  `  there is its batches of ${batch}).`,
  '- **hitwarden core**: the same store through its synchronous decisions (`store.openSync`): `incr` per',
  `  decision (sequential rows), or \`incrMany\` over arrays of ${batch} tokens (the other rows).`,
  '- **core, presized**: the same with `initialCapacity` set to the number of distinct tokens, so',
  '  the tables never grow during the run (the others start at 1,024 pairs and double).',
  '- **rlf**: rate-limiter-flexible `RateLimiterMemory#consume` (1e9 points per hour).',
  '- **Map floor** (not a limiter): a plain `Map<string, number>#set` per event.',
  '- **Map + state floor** (not a limiter): `Map#get`, and `Map#set` for a new token, one',
  '  `Date.now()` and two doubles of state per token in a `Float64Array`: the least a',
  '  synchronous decision keyed by a JS `Map` can do.',
  "- **table floor** (not a limiter): the skeleton of hitwarden's core alone, presized: one",
  '  `Date.now()`, the token hashed, one probe of an `Int32Array` hash index, one write to a',
  '  fresh 64-byte record; in blocks, the same done the way `incrMany` does it: per block of 64',
  '  tokens one `Date.now()`, the hashes, then a loop that only loads their index positions.',
  '',
  '| keys | mode | hitwarden | rlf | ratio | hitwarden core |',
  '|---|---|---|---|---|---|',
];
for (const keys of ['hot', 'distinct'] as const) {
  for (const mode of ['sequential', 'batch', 'many'] as const) {
    const mine = find('hitwarden', keys, mode);
    const theirs = find('rlf', keys, mode === 'many' ? 'batch' : mode);
    // The core's own calls: incr beside the sequential row, incrMany beside the incrMany row.
    const core = ({ sequential: 'sync', batch: undefined, many: 'sync-batch' } as const)[mode];
    const label =
      keys === 'hot'
        ? `1 token (${hot.toLocaleString('en')} decisions)`
        : `${distinct.toLocaleString('en')} distinct`;
    lines.push(
      `| ${label} | ${{ sequential: 'sequential awaits', batch: `batches of ${batch}`, many: `\`incrMany\`, ${batch} per call` }[mode]} | ${fmt(mine.medianPerSecond)} | ${fmt(theirs.medianPerSecond)} | ${(mine.medianPerSecond / theirs.medianPerSecond).toFixed(1)}× | ${core === undefined ? '' : fmt(find('hitwarden-core', keys, core).medianPerSecond)} |`,
    );
  }
}
lines.push(
  '',
  `Synchronous floor over ${distinct.toLocaleString('en')} fresh tokens: what this machine allows without any limiter logic.`,
  '',
  '| rate | Map floor | Map + state floor | table floor | hitwarden core | core, presized | core / Map + state floor | core / table floor | 5 M/s / table floor |',
  '|---|---|---|---|---|---|---|---|---|',
);
/** One row per rate (wall, CPU) of the fresh-token runs in `mode`; `cells` makes its cells. */
function rateRows(mode: Mode, cells: (rate: (contender: Contender) => number) => string[]): void {
  for (const [label, field] of [
    ['wall', 'medianPerSecond'],
    ['CPU', 'medianPerCpuSecond'],
  ] as const) {
    const rate = (contender: Contender) => find(contender, 'distinct', mode)[field];
    lines.push(`| ${label} | ${cells(rate).join(' | ')} |`);
  }
}
rateRows('sync', (rate) => {
  const core = rate('hitwarden-core');
  const state = rate('map-state-floor');
  const table = rate('table-floor');
  return [
    fmt(rate('map-floor')),
    fmt(state),
    fmt(table),
    fmt(core),
    fmt(rate('hitwarden-core-presized')),
    `${((100 * core) / state).toFixed(0)}%`,
    `${((100 * core) / table).toFixed(0)}%`,
    `${(5e6 / table).toFixed(2)}×`,
  ];
});
lines.push(
  '',
  `In blocks (\`incrMany\`, arrays of ${batch} tokens), same fresh tokens:`,
  '',
  '| rate | table floor, blocks | hitwarden core | core, presized | core / floor | presized / floor |',
  '|---|---|---|---|---|---|',
);
rateRows('sync-batch', (rate) => {
  const table = rate('table-floor');
  const core = rate('hitwarden-core');
  const presized = rate('hitwarden-core-presized');
  return [
    fmt(table),
    fmt(core),
    fmt(presized),
    `${((100 * core) / table).toFixed(0)}%`,
    `${((100 * presized) / table).toFixed(0)}%`,
  ];
});
lines.push(
  '',
  `Memory at ${distinct.toLocaleString('en')} tokens seen once each (JS heap + typed arrays, hitwarden's shared-buffer tables included, after GC, token strings excluded — both contenders get the same pre-made strings):`,
  '',
);
lines.push('| contender | bytes per token |', '|---|---|');
for (const contender of [
  'hitwarden',
  'rlf',
  'hitwarden-core',
  'hitwarden-core-presized',
  'map-floor',
  'map-state-floor',
  'table-floor',
] as const) {
  const row = find(
    contender,
    'distinct',
    contender === 'hitwarden' || contender === 'rlf' ? 'sequential' : 'sync',
  );
  lines.push(`| ${contender} | ${row.medianBytesPerToken?.toFixed(0) ?? 'n/a'} |`);
}
lines.push(
  '',
  "The same medians per CPU second (decisions ÷ the process's user + system CPU time during the timed loop, all threads):",
  'less sensitive than wall time to other work on the machine, and a little pessimistic (GC and compiler threads count).',
  '',
  'Page faults and system time are those of the timed loop: first touches of fresh memory, which the kernel fills with zeros page by page.',
  '',
  '| contender | keys | mode | wall | CPU | page faults per 1,000 decisions | system CPU |',
  '|---|---|---|---|---|---|---|',
);
for (const row of summary) {
  lines.push(
    `| ${row.contender} | ${row.keys} | ${row.mode} | ${fmt(row.medianPerSecond)} | ${fmt(row.medianPerCpuSecond)} | ${((1000 * row.medianPageFaults) / row.decisions).toFixed(1)} | ${(1000 * row.medianSystemSeconds).toFixed(0)} ms |`,
  );
}
const timed = find('hitwarden-core', 'distinct', 'sync-timed');
lines.push(
  '',
  `Slowest single decision of the sync core while ${distinct.toLocaleString('en')} fresh tokens fill the store (every call timed on its own, wall clock; worst over the rounds): ${timed.slowestCallMs?.toFixed(2)} ms, with a median of ${timed.callsOver1Ms} calls over 1 ms per run. On a shared machine the wall clock also counts time the process waited for a core.`,
);
const refusedTotal = summary.reduce((sum, s) => sum + s.refused, 0);
lines.push(
  '',
  refusedTotal === 0
    ? 'No contender refused a decision in any run.'
    : `Refused decisions: ${refusedTotal} (see the JSON).`,
  '',
);
writeResults(quick ? 'banhammer-quick' : 'banhammer', { meta, summary, samples }, lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
