/*
 * The IP tracker benchmark (issue 3): hitwarden's IpTracker against a Map with a sort, a Map
 * with a heap, and a bare typed-array table, on identical pre-generated input.
 *
 *   npm run bench:tracker                  full run: 3 rounds, ~20 min on 2 cores
 *   npm run bench:tracker -- --quick       smoke run: small sizes, 1 round
 *   options: --rounds=N  --cases=v4-2M,v6-5M  --contenders=hitwarden,map-sort  --seed=N
 *
 * Each measurement is a child process of its own (one contender, one size), started one at a
 * time; the order of contenders rotates every round. Results: bench/results/tracker.json (raw,
 * every round) and tracker.md (medians, ratios, goals); a quick run writes tracker-quick.*.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine, type ResultFiles, writeResults } from '../results.js';
import type { ChildResult, ChildTask } from './child.js';
import { CONTENDER_NAMES, type ContenderName } from './contenders.js';
import type { Family } from './input.js';
import { type BenchCase, type BenchRun, renderMarkdown } from './report.js';

const FULL_CASES: BenchCase[] = [
  {
    id: 'v4-2M',
    family: 4,
    n: 2_000_000,
    contenders: ['hitwarden', 'hitwarden-presized', 'map-sort', 'map-heap', 'bare-table'],
  },
  {
    id: 'v4-15M',
    family: 4,
    n: 15_000_000,
    contenders: ['hitwarden', 'map-sort', 'map-heap'],
    note: 'V8 Map cannot hold 20M keys ("Map maximum size exceeded" past 2^24): the Map contenders run at 15M, with hitwarden beside them on the same input',
  },
  {
    id: 'v4-20M',
    family: 4,
    n: 20_000_000,
    contenders: ['hitwarden', 'hitwarden-presized', 'bare-table'],
  },
  {
    id: 'v6-5M',
    family: 6,
    n: 5_000_000,
    contenders: ['hitwarden', 'map-sort', 'map-heap'],
  },
];

const QUICK_CASES: BenchCase[] = [
  {
    id: 'v4-200k',
    family: 4,
    n: 200_000,
    contenders: ['hitwarden', 'hitwarden-presized', 'map-sort', 'map-heap', 'bare-table'],
  },
  { id: 'v6-50k', family: 6, n: 50_000, contenders: ['hitwarden', 'map-sort', 'map-heap'] },
];

/** The latency runs (every call timed), once per contender after the rounds. */
const FULL_LATENCY = {
  caseId: 'v4-20M',
  contenders: ['hitwarden', 'hitwarden-presized', 'bare-table'],
};
const QUICK_LATENCY = {
  caseId: 'v4-200k',
  contenders: ['hitwarden', 'hitwarden-presized', 'bare-table'],
};

interface Options {
  quick: boolean;
  rounds: number;
  seed: number;
  cases: string[] | null;
  contenders: ContenderName[] | null;
}

const VALUED = ['--rounds', '--seed', '--cases', '--contenders'];

/** `--rounds 3` as `--rounds=3`: both forms, as every bench runner reads them (bench/args.ts). */
function joinValues(argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    if (VALUED.includes(arg) && value !== undefined && !value.startsWith('--')) {
      joined.push(`${arg}=${value}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    quick: false,
    rounds: 3,
    seed: 20_260_101,
    cases: null,
    contenders: null,
  };
  let roundsGiven = false;
  for (const arg of joinValues(argv)) {
    const [key, value = ''] = arg.split('=', 2) as [string, string?];
    switch (key) {
      case '--quick':
        options.quick = true;
        break;
      case '--rounds':
        options.rounds = Number.parseInt(value, 10);
        roundsGiven = true;
        if (!(options.rounds >= 1)) throw new Error(`--rounds wants a positive integer: ${arg}`);
        break;
      case '--seed':
        options.seed = Number.parseInt(value, 10);
        if (!Number.isFinite(options.seed)) throw new Error(`--seed wants an integer: ${arg}`);
        break;
      case '--cases':
        options.cases = value.split(',').filter(Boolean);
        break;
      case '--contenders': {
        const names = value.split(',').filter(Boolean);
        for (const name of names) {
          if (!(CONTENDER_NAMES as readonly string[]).includes(name)) {
            throw new Error(`unknown contender ${name}; known: ${CONTENDER_NAMES.join(', ')}`);
          }
        }
        options.contenders = names as ContenderName[];
        break;
      }
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (options.quick && !roundsGiven) options.rounds = 1;
  return options;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const childScript = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Heap for a child: input strings (~80 B per request with the array slot) plus the Map. */
function heapMegabytes(family: Family, n: number): number {
  const perAddress = family === 4 ? 250 : 400; // two passes of strings, a Map entry, headroom
  return Math.max(1024, Math.ceil((n * perAddress) / 1024 / 1024 / 1024) * 1024);
}

function runChild(task: ChildTask): Promise<ChildResult> {
  const args = [
    '--expose-gc',
    `--max-old-space-size=${heapMegabytes(task.family, task.n)}`,
    '--import',
    'tsx',
    childScript,
    JSON.stringify(task),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60 * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`${task.contender} ${task.caseId}: exit ${code ?? signal}\n${stdout}`));
        return;
      }
      resolve(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
    });
  });
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, the unit of /proc/stat on Linux

/** The whole machine's CPU counters from /proc/stat, in seconds: all, busy, stolen. */
function cpuCounters(): { total: number; busy: number; steal: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // user nice system idle iowait irq softirq steal
    const f = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map((x) => Number(x) / CLOCK_TICKS_PER_SECOND);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
      f;
    const busy = user + nice + system + irq + softirq;
    return { total: busy + idle + iowait + steal, busy, steal };
  } catch {
    return { total: 0, busy: 0, steal: 0 };
  }
}

/** Keeps the raw file small: the top-100 text becomes a hash (equal answers, equal hashes). */
function slim(result: ChildResult): Omit<BenchRun, 'stealPercent' | 'otherLoad'> {
  const { top100, ...rest } = result;
  if (top100 === null) return { ...rest, top100: null };
  const { answer, ...top } = top100;
  return {
    ...rest,
    top100: { ...top, answerHash: createHash('sha1').update(answer).digest('hex').slice(0, 12) },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let cases = options.quick ? QUICK_CASES : FULL_CASES;
  if (options.cases) {
    const wanted = options.cases;
    cases = [...QUICK_CASES, ...FULL_CASES].filter((c) => wanted.includes(c.id));
    if (cases.length !== wanted.length) throw new Error(`unknown case in ${wanted.join(',')}`);
  }
  if (options.contenders) {
    const wanted = options.contenders;
    cases = cases.map((c) => ({
      ...c,
      contenders: c.contenders.filter((n) => wanted.includes(n)),
    }));
  }
  const base = options.quick ? 'tracker-quick' : 'tracker';
  const command = `npm run bench:tracker${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const meta = {
    started: new Date().toISOString(),
    finished: '',
    command,
    quick: options.quick,
    rounds: options.rounds,
    seed: options.seed,
    machine: machine(),
    loadAverageAtStart: os.loadavg(),
    loadAverageAtEnd: [] as number[],
    cases,
  };
  const runs: BenchRun[] = [];
  const latency = options.quick ? QUICK_LATENCY : FULL_LATENCY;
  const latencyCase = cases.find((c) => c.id === latency.caseId);
  const latencyContenders = latencyCase
    ? latencyCase.contenders.filter((name) => latency.contenders.includes(name))
    : [];
  const planned =
    options.rounds * cases.reduce((sum, c) => sum + c.contenders.length, 0) +
    latencyContenders.length;
  // Saved after every measurement, so a run cut short keeps what it measured.
  const save = (): ResultFiles => writeResults(base, { meta, runs }, renderMarkdown(meta, runs), 1);

  const plan: ChildTask[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const benchCase of cases) {
      const k = benchCase.contenders.length;
      // Rotate the order every round so no contender always runs first (or last).
      const order = benchCase.contenders.map((_, i) => benchCase.contenders[(i + round - 1) % k]!);
      for (const contender of order) {
        plan.push({
          contender,
          caseId: benchCase.id,
          family: benchCase.family,
          n: benchCase.n,
          seed: options.seed,
          round,
        });
      }
    }
  }
  if (latencyCase) {
    for (const contender of latencyContenders) {
      plan.push({
        contender,
        caseId: latencyCase.id,
        family: latencyCase.family,
        n: latencyCase.n,
        seed: options.seed,
        round: 1,
        perCall: true,
      });
    }
  }
  for (const task of plan) {
    const t0 = Date.now();
    const before = cpuCounters();
    const result = await runChild(task);
    const after = cpuCounters();
    const wallSeconds = (Date.now() - t0) / 1000;
    const ticks = after.total - before.total;
    const stealPercent = ticks > 0 ? (100 * (after.steal - before.steal)) / ticks : 0;
    // CPU the rest of the machine used while this child ran, in cores (2 = both busy).
    const otherLoad = Math.max(
      0,
      (after.busy - before.busy - result.processCpuSeconds) / wallSeconds,
    );
    runs.push({ ...slim(result), stealPercent, otherLoad });
    const u = result.unique;
    const z = result.zipf;
    console.log(
      `[${runs.length}/${planned}] round ${task.round} ${task.caseId} ${task.contender}` +
        `${task.perCall ? ` (every call timed: slowest ${Math.max(u.calls?.slowestOnCpuMs ?? 0, z.calls?.slowestOnCpuMs ?? 0).toFixed(3)} ms on-CPU)` : ''}: ` +
        `unique ${(u.requestsPerSecond / 1e6).toFixed(2)}M/s, zipf ${(z.requestsPerSecond / 1e6).toFixed(2)}M/s, ` +
        `top100 ${result.top100 ? `${result.top100.medianMs.toFixed(3)} ms` : '—'}, ` +
        `max batch ${Math.max(u.maxBatchMs, z.maxBatchMs).toFixed(2)} ms, ` +
        `retained ${result.memory.retainedMB.toFixed(0)} MB, other load ${otherLoad.toFixed(2)} cores ` +
        `(${wallSeconds.toFixed(0)} s)`,
    );
    save();
  }
  meta.finished = new Date().toISOString();
  meta.loadAverageAtEnd = os.loadavg();
  const files = save();
  console.log(`wrote ${files.json} and ${files.markdown}`);
}

await main();
