/**
 * HitCounter benchmark: each strategy's record and query rates and memory per key, on one busy
 * key and on 100,000 keys, against the seed design's array-of-timestamps log, in the same run.
 *
 *   npm run bench:counter                  (about five minutes; writes bench/results/counter.{md,json})
 *   npm run bench:counter -- --rounds 3
 *   npm run bench:counter -- --quick       smoke run: 1 round (counter-quick.*)
 *
 * Every measurement runs in a child process of its own, so no strategy's JIT profile leaks into
 * another's; rounds are interleaved across contenders so a noisy neighbour on a shared machine
 * hits them all alike; each figure is the median of the rounds.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FixedWindow, HitCounter, Morris, SlidingLog, SlidingWindowCounter } from 'hitwarden';
import { countOption, flag } from '../args.js';
import { machine, writeResults } from '../results.js';
import { median, ratiosByRound } from '../stats.js';
import { SeedLog } from './seed-log.js';

interface Subject {
  record(key: string, at: number): void;
  query(key: string, lastSeconds: number): number;
}

const SEED = 'seed approach';
const contenders: Record<
  string,
  { note: string; make: (clock: () => number, keys: number) => Subject }
> = {
  FixedWindow: {
    note: '1 s buckets, 60 s reach (61 × Uint32 per key)',
    make: (clock, keys) =>
      new HitCounter({
        strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 60 }),
        clock,
        expectedKeys: keys,
      }),
  },
  SlidingWindowCounter: {
    note: 'two 60 s buckets',
    make: (clock, keys) =>
      new HitCounter({
        strategy: new SlidingWindowCounter({ windowSeconds: 60 }),
        clock,
        expectedKeys: keys,
      }),
  },
  Morris: {
    note: 'base 2, 1 s buckets, 60 s reach (61 × Uint8 per key)',
    make: (clock, keys) =>
      new HitCounter({
        strategy: new Morris({ base: 2, windowSeconds: 1, maxWindowSeconds: 60 }),
        clock,
        expectedKeys: keys,
      }),
  },
  SlidingLog: {
    note: '60 s of Float64 timestamps per key',
    make: (clock, keys) =>
      new HitCounter({
        strategy: new SlidingLog({ maxWindowSeconds: 60 }),
        clock,
        expectedKeys: keys,
      }),
  },
  [SEED]: {
    note: 'number[] per key, linear prune and count',
    make: (clock) => new SeedLog(60, clock),
  },
};

/** Traffic: `keys` keys in turn, `hitsPerSecond` in all, timestamps advancing evenly. */
const scenarios = {
  '1 key': { keys: 1, hitsPerSecond: 1_000 },
  '100k keys': { keys: 100_000, hitsPerSecond: 100_000 },
} as const;
type ScenarioName = keyof typeof scenarios;

/** What one child measures: rates in operations per second, memory in bytes per key. */
interface Sample {
  record: number;
  query: number;
  mixed: number;
  bytesPerKey: number | null;
}

const QUICK = flag('quick');
const MEASURE_MS = 250;
const PREFILL_SECONDS = 60;
const ROUNDS = countOption('rounds', QUICK ? 1 : 5);

function measure(contender: string, scenarioName: ScenarioName): Sample {
  const { keys: keyCount, hitsPerSecond } = scenarios[scenarioName];
  const keys = Array.from({ length: keyCount }, (_, i) => `/api/endpoint/${i}`);
  const gapMs = 1000 / hitsPerSecond;
  const start = Date.parse('2026-01-01T00:00:00Z');
  let now = start;
  let hit = 0;
  let next = 0;
  const clock = () => now;
  const gc = (globalThis as { gc?: () => void }).gc;

  const used = () => {
    const memory = process.memoryUsage();
    return memory.heapUsed + memory.arrayBuffers;
  };
  gc?.();
  const before = used();
  const subject = contenders[contender]!.make(clock, keyCount);

  const record = (count: number) => {
    for (let n = 0; n < count; n++) {
      now = start + hit++ * gapMs;
      subject.record(keys[next]!, now);
      if (++next === keyCount) next = 0;
    }
  };
  let sink = 0;
  const query = (count: number) => {
    for (let n = 0; n < count; n++) {
      sink += subject.query(keys[next]!, 60);
      if (++next === keyCount) next = 0;
    }
  };
  const mixed = (count: number) => {
    for (let n = 0; n < count; n++) {
      now = start + hit++ * gapMs;
      subject.record(keys[next]!, now);
      sink += subject.query(keys[next]!, 60);
      if (++next === keyCount) next = 0;
    }
  };

  // Fill a whole window first: the log strategies are measured at their steady-state size.
  record(PREFILL_SECONDS * hitsPerSecond);
  gc?.();
  const bytesPerKey = gc ? (used() - before) / keyCount : null;

  const rate = (body: (count: number) => void) => {
    const began = performance.now();
    let done = 0;
    let elapsed = 0;
    do {
      body(1024);
      done += 1024;
      elapsed = performance.now() - began;
    } while (elapsed < MEASURE_MS);
    return (done / elapsed) * 1000;
  };
  const sample = { record: rate(record), query: rate(query), mixed: rate(mixed), bytesPerKey };
  if (sink === -1) console.error('unreachable');
  return sample;
}

function main(): void {
  const self = fileURLToPath(import.meta.url);
  const samples: Record<string, Record<string, Sample[]>> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of Object.keys(scenarios)) {
      for (const contender of Object.keys(contenders)) {
        const output = execFileSync(
          process.execPath,
          ['--expose-gc', '--import', 'tsx', self, '--child', contender, scenario],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
        const sample = JSON.parse(output) as Sample;
        samples[scenario] ??= {};
        samples[scenario][contender] ??= [];
        samples[scenario][contender].push(sample);
        console.error(
          `round ${round}/${ROUNDS} ${scenario.padEnd(9)} ${contender.padEnd(20)} record ${fmtRate(sample.record)}  query ${fmtRate(sample.query)}  mixed ${fmtRate(sample.mixed)}`,
        );
      }
    }
  }
  report(samples);
}

function fmtRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  return `${perSecond.toFixed(0)}/s`;
}

function fmtNs(perSecond: number): string {
  const ns = 1e9 / perSecond;
  return ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
}

function fmtBytes(bytes: number | null): string {
  if (bytes === null) return 'n/a';
  return bytes >= 10_000 ? `${(bytes / 1024).toFixed(0)} KiB` : `${bytes.toFixed(0)} B`;
}

function report(samples: Record<string, Record<string, Sample[]>>): void {
  const name = QUICK ? 'counter-quick' : 'counter';
  type Summary = Sample & {
    bestRecord: number;
    ratio: { record: number; query: number; mixed: number };
  };
  const medians: Record<string, Record<string, Summary>> = {};
  for (const [scenario, byContender] of Object.entries(samples)) {
    const seed = byContender[SEED]!;
    medians[scenario] = {};
    for (const [contender, list] of Object.entries(byContender)) {
      const bytes = list.map((sample) => sample.bytesPerKey).filter((b): b is number => b !== null);
      // Ratios are taken round by round (both figures measured minutes apart at most) and
      // then their median: steadier than a ratio of medians on a machine others share.
      const ratio = (metric: 'record' | 'query' | 'mixed') =>
        median(
          ratiosByRound(
            list.map((sample) => sample[metric]),
            seed.map((sample) => sample[metric]),
          ),
        );
      medians[scenario][contender] = {
        record: median(list.map((sample) => sample.record)),
        bestRecord: Math.max(...list.map((sample) => sample.record)),
        query: median(list.map((sample) => sample.query)),
        mixed: median(list.map((sample) => sample.mixed)),
        bytesPerKey: bytes.length ? median(bytes) : null,
        ratio: { record: ratio('record'), query: ratio('query'), mixed: ratio('mixed') },
      };
    }
  }
  const host = machine();
  const lines = [
    '# HitCounter benchmark',
    '',
    `${new Date().toISOString().slice(0, 10)} · Node ${host.node} · ${host.cpu} × ${host.cores} (shared; load average ${loadavg()[0]!.toFixed(1)} at the end) · median of ${ROUNDS} rounds, each contender in its own process`,
    '',
    'Traffic: `1 key` is one key at 1,000 hits/s; `100k keys` is 100,000 keys at 1 hit/s each.',
    `Each run first records ${PREFILL_SECONDS} s of that traffic (a full window), then measures`,
    '`record(key, at)` with advancing timestamps, `query(key, 60)`, and *mixed*: a record followed',
    "by a query of the same key, a rate limiter's pattern. Memory is heap + array buffers after",
    'the fill, per key (on one key it is mostly fixed overhead: compiled code, tables). × is the',
    'ratio to the seed approach measured in the same round, median over rounds (higher is better);',
    '*best* is the fastest round, what the code does when the shared machine is quiet.',
    '',
    `Reproduce: \`npm run bench:counter${QUICK ? ' -- --quick' : ''}\` (raw figures: \`bench/results/${name}.json\`).`,
    '',
  ];
  for (const [scenario, byContender] of Object.entries(medians)) {
    lines.push(`## ${scenario}`, '');
    lines.push('| strategy | record | × | best | query | × | mixed | × | memory / key |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [contender, m] of Object.entries(byContender)) {
      const ratio = (value: number) =>
        contender === SEED ? '1' : value.toFixed(value >= 10 ? 0 : 1);
      lines.push(
        `| ${contender} | ${fmtRate(m.record)} | ${ratio(m.ratio.record)} | ${fmtRate(m.bestRecord)} | ${fmtNs(m.query)} | ${ratio(m.ratio.query)} | ${fmtRate(m.mixed)} | ${ratio(m.ratio.mixed)} | ${fmtBytes(m.bytesPerKey)} |`,
      );
    }
    lines.push('');
  }
  lines.push('Strategies:', '');
  for (const [name, { note }] of Object.entries(contenders)) lines.push(`- ${name}: ${note}`);
  lines.push('');

  writeResults(name, { ...host, quick: QUICK, rounds: ROUNDS, medians, samples }, lines.join('\n'));
  console.log(lines.join('\n'));
}

const childAt = process.argv.indexOf('--child');
if (childAt !== -1) {
  const contender = process.argv[childAt + 1]!;
  const scenario = process.argv[childAt + 2] as ScenarioName;
  process.stdout.write(JSON.stringify(measure(contender, scenario)));
} else {
  main();
}
