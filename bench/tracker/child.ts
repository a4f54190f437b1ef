/*
 * One measurement: one contender, one input size, one process. Started by run.ts as
 *   node --expose-gc --max-old-space-size=… --import tsx bench/tracker/child.ts '<task json>'
 * and prints one line `RESULT {json}` on stdout.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { type Contender, type ContenderName, createContender } from './contenders.js';
import { buildInput, type Family, type Input } from './input.js';

export interface ChildTask {
  contender: ContenderName;
  caseId: string;
  family: Family;
  n: number;
  seed: number;
  round: number;
  /** Time every call (wall and CPU) instead of batches: the latency run. Its throughput is
   *  lowered by the timing itself and is not reported. */
  perCall?: boolean;
}

/** From a per-call run: the slowest single `requestHandled` after warm-up. */
export interface CallLatency {
  /** Wall time of the slowest call. */
  slowestWallMs: number;
  /** The slowest call counting only time on a CPU: max over calls of min(wall, CPU). */
  slowestOnCpuMs: number;
  /** Calls whose min(wall, CPU) passed 1 ms, and 0.1 ms. */
  over1MsOnCpu: number;
  over100UsOnCpu: number;
  /** Which request was the slowest on-CPU. */
  slowestOnCpuIndex: number;
}

export interface PassResult {
  seconds: number;
  requestsPerSecond: number;
  batches: number;
  /** Wall time of the slowest batch of BATCH calls after warm-up — the longest pause a request
   *  saw. Quantiles and the fields below are over the same post-warm-up batches. */
  maxBatchMs: number;
  /** The slowest of the first WARMUP_BATCHES batches (JIT compilation, first page faults). */
  warmupMaxBatchMs: number;
  p999BatchMs: number;
  p99BatchMs: number;
  medianBatchMs: number;
  /** Which batch was the slowest (the first few run before the JIT has optimised the loop). */
  maxBatchIndex: number;
  /** CPU time (all threads) spent during the slowest batch: far below its wall time means the
   *  process was descheduled (the machine is shared), not stalled by the contender. */
  maxBatchCpuMs: number;
  /** The longest batch counting only time on a CPU: max over batches of min(wall, CPU). */
  maxBatchOnCpuMs: number;
  /** Batches whose min(wall, CPU) passed 1 ms. */
  batchesOver1MsOnCpu: number;
  /** GC pause time that overlapped the slowest batch (0 = the pause was the contender's own). */
  maxBatchGcMs: number;
  gcCount: number;
  gcMajorCount: number;
  gcMaxMs: number;
  gcTotalMs: number;
  /** Present in a per-call run only. */
  calls?: CallLatency;
}

export interface MemorySample {
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
}

export interface ChildResult {
  task: ChildTask;
  generateSeconds: number;
  /** CPU time of the whole child process (all threads), for the parent's load accounting. */
  processCpuSeconds: number;
  unique: PassResult;
  zipf: PassResult;
  top100: {
    firstMs: number;
    medianMs: number;
    calls: number;
    counts: number[];
    /** The answer as text, to compare contenders that order ties the same way. */
    answer: string;
  } | null;
  size: number;
  memory: {
    /** Before anything was built. */
    start: MemorySample;
    /** Input generated, before the contender was created: the baseline of `growth`. */
    beforeTracker: MemorySample;
    /** After both passes and the top-100 calls, input still alive. */
    afterRun: MemorySample;
    /** Input dropped and collected: only the contender (and the runtime) left. */
    final: MemorySample;
    rssAfterRunMB: number;
    /** RSS after the run minus RSS before the contender existed (same input in both). */
    rssGrowthMB: number;
    /** V8 heap + external (typed arrays) + the contender's shared buffers held once the
     *  input is gone, over the start. */
    retainedMB: number;
    /** Peak RSS of the whole process (input included), from getrusage. */
    maxRssMB: number;
  };
}

const BATCH = 1024;
/** The first batches of each pass are reported apart (`warmupMaxBatchMs`), not as pauses:
 *  first touches of fresh memory, and any compilation the warm-up input did not trigger. */
const WARMUP_BATCHES = 16;
/** Size of the warm-up input a throwaway contender handles before the measured one exists. */
const WARMUP_ADDRESSES = 250_000;
const GC_MAJOR = 4; // perf_hooks constants.NODE_PERFORMANCE_GC_MAJOR

const MB = 1024 * 1024;
/** `BENCH_TRACE_SLOW=2` lists every batch slower than 2 ms on stderr, for diagnosis. */
const TRACE_SLOW_MS = Number(process.env.BENCH_TRACE_SLOW ?? 0);

function sample(): MemorySample {
  const m = process.memoryUsage();
  return { rssMB: m.rss / MB, heapUsedMB: m.heapUsed / MB, externalMB: m.external / MB };
}

interface GcEntry {
  start: number;
  duration: number;
  kind: number;
}

interface PassTiming {
  start: number;
  end: number;
  durations: Float64Array;
  /** CPU time of each batch, all threads (getrusage), ms. */
  cpu: Float64Array;
  slowestStart: number;
  slowestIndex: number;
  calls?: CallLatency;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Feeds `requests` in batches of BATCH calls, timing each batch. */
function runPass(contender: Contender, requests: string[]): PassTiming {
  const n = requests.length;
  const durations = new Float64Array(Math.ceil(n / BATCH));
  const cpu = new Float64Array(durations.length);
  let batch = 0;
  let slowest = -1;
  let slowestStart = 0;
  let slowestIndex = 0;
  const start = performance.now();
  let previous = start;
  let previousCpu = cpuMs();
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(from + BATCH, n);
    for (let i = from; i < to; i++) contender.requestHandled(requests[i]!);
    const now = performance.now();
    const nowCpu = cpuMs();
    const duration = now - previous;
    cpu[batch] = nowCpu - previousCpu;
    if (batch >= WARMUP_BATCHES && duration > slowest) {
      slowest = duration;
      slowestStart = previous;
      slowestIndex = batch;
    }
    durations[batch++] = duration;
    previous = now;
    previousCpu = nowCpu;
  }
  return { start, end: previous, durations, cpu, slowestStart, slowestIndex };
}

/**
 * Feeds `requests` one timed call at a time: wall clock and process CPU time around each call.
 * The batch fields are filled with one batch per BATCH calls as in runPass, for the report's
 * shape; only `calls` is meant to be read.
 */
function runPassPerCall(contender: Contender, requests: string[]): PassTiming {
  const n = requests.length;
  const durations = new Float64Array(Math.ceil(n / BATCH));
  const cpu = new Float64Array(durations.length);
  const calls: CallLatency = {
    slowestWallMs: 0,
    slowestOnCpuMs: 0,
    over1MsOnCpu: 0,
    over100UsOnCpu: 0,
    slowestOnCpuIndex: 0,
  };
  const warm = WARMUP_BATCHES * BATCH;
  // Only the wall clock is read around each call: reading CPU time allocates an object, and
  // 40M of them would make the harness's own collections the slowest "calls". CPU time is
  // read once per batch instead, and a slow call is charged only what the batch spent on a
  // CPU: on-CPU ≈ wall − (batch wall − batch CPU), the time the process was descheduled.
  const slowWalls = new Float64Array(BATCH);
  const slowIndexes = new Int32Array(BATCH);
  const start = performance.now();
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(from + BATCH, n);
    let slow = 0;
    const batchCpu0 = cpuMs();
    const batch0 = performance.now();
    for (let i = from; i < to; i++) {
      const t0 = performance.now();
      contender.requestHandled(requests[i]!);
      const wall = performance.now() - t0;
      if (wall > 0.1 && i >= warm) {
        slowWalls[slow] = wall;
        slowIndexes[slow++] = i;
      }
    }
    const batchWall = performance.now() - batch0;
    const batchCpu = cpuMs() - batchCpu0;
    const batch = (from / BATCH) | 0;
    durations[batch] = batchWall;
    cpu[batch] = batchCpu;
    const descheduled = Math.max(0, batchWall - batchCpu);
    for (let k = 0; k < slow; k++) {
      const wall = slowWalls[k]!;
      const onCpu = Math.max(0, wall - descheduled);
      if (wall > calls.slowestWallMs) calls.slowestWallMs = wall;
      if (onCpu > calls.slowestOnCpuMs) {
        calls.slowestOnCpuMs = onCpu;
        calls.slowestOnCpuIndex = slowIndexes[k]!;
      }
      if (onCpu > 1) calls.over1MsOnCpu++;
      if (onCpu > 0.1) calls.over100UsOnCpu++;
    }
  }
  return {
    start,
    end: performance.now(),
    durations,
    cpu,
    slowestStart: start,
    slowestIndex: 0,
    calls,
  };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarise(timing: PassTiming, n: number, gcs: GcEntry[]): PassResult {
  const warm = Math.min(WARMUP_BATCHES, timing.durations.length - 1);
  const sorted = Float64Array.from(timing.durations.subarray(warm)).sort();
  const warmupMaxBatchMs = timing.durations.subarray(0, warm).reduce((a, b) => Math.max(a, b), 0);
  const seconds = (timing.end - timing.start) / 1000;
  const inPass = gcs.filter((g) => g.start >= timing.start && g.start < timing.end);
  const slowestEnd = timing.slowestStart + (sorted[sorted.length - 1] ?? 0);
  const overlap = (g: GcEntry) =>
    Math.max(
      0,
      Math.min(g.start + g.duration, slowestEnd) - Math.max(g.start, timing.slowestStart),
    );
  if (TRACE_SLOW_MS > 0) {
    for (let i = 0; i < timing.durations.length; i++) {
      const wall = timing.durations[i]!;
      if (wall < TRACE_SLOW_MS) continue;
      process.stderr.write(
        `slow batch ${i} (requests ${i * BATCH}…): ${wall.toFixed(2)} ms wall, ${timing.cpu[i]!.toFixed(2)} ms CPU\n`,
      );
    }
  }
  let maxOnCpu = 0;
  let over1Ms = 0;
  for (let i = warm; i < timing.durations.length; i++) {
    const onCpu = Math.min(timing.durations[i]!, timing.cpu[i]!);
    maxOnCpu = Math.max(maxOnCpu, onCpu);
    if (onCpu > 1) over1Ms++;
  }
  return {
    seconds,
    requestsPerSecond: n / seconds,
    batches: sorted.length,
    maxBatchMs: sorted[sorted.length - 1] ?? 0,
    warmupMaxBatchMs,
    p999BatchMs: quantile(sorted, 0.999),
    p99BatchMs: quantile(sorted, 0.99),
    medianBatchMs: quantile(sorted, 0.5),
    maxBatchIndex: timing.slowestIndex,
    maxBatchCpuMs: timing.cpu[timing.slowestIndex] ?? 0,
    maxBatchOnCpuMs: maxOnCpu,
    batchesOver1MsOnCpu: over1Ms,
    maxBatchGcMs: inPass.reduce((sum, g) => sum + overlap(g), 0),
    gcCount: inPass.length,
    gcMajorCount: inPass.filter((g) => g.kind === GC_MAJOR).length,
    gcMaxMs: inPass.reduce((max, g) => Math.max(max, g.duration), 0),
    gcTotalMs: inPass.reduce((sum, g) => sum + g.duration, 0),
    ...(timing.calls ? { calls: timing.calls } : {}),
  };
}

/** Median of several `top100()` calls; stops early when one call is slow (the full sort). */
function measureTop(contender: Contender): ChildResult['top100'] {
  const times: number[] = [];
  let total = 0;
  let first: ReturnType<Contender['top100']> = null;
  while (times.length < 9 && (times.length < 1 || total < 10_000)) {
    const t0 = performance.now();
    const answer = contender.top100();
    const elapsed = performance.now() - t0;
    if (answer === null) return null;
    first ??= answer;
    times.push(elapsed);
    total += elapsed;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const entries = first ?? [];
  return {
    firstMs: times[0]!,
    medianMs: sorted[Math.floor((sorted.length - 1) / 2)]!,
    calls: times.length,
    counts: entries.map((e) => e.count),
    answer: entries.map((e) => `${e.ip} ${e.count}`).join('\n'),
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A memory sample once garbage, typed arrays' backing stores included, is really gone:
 *  backing stores are released by a sweeper after the collection that finds them dead, so
 *  collect, wait, and collect again. */
async function settledSample(gc: () => void): Promise<MemorySample> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
  }
  return sample();
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '') as ChildTask;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Warm-up, as a service that has been running would be: a throwaway contender of the same
  // kind handles a smaller input of other addresses, so V8 has compiled (and de- and
  // re-optimised) the request path before the measured one is created.
  const warmN = Math.min(WARMUP_ADDRESSES, task.n);
  let warmInput: Input | null = buildInput(task.family, warmN, task.seed ^ 0x5bd1_e995);
  let warm: Contender | null = await createContender(task.contender, warmN);
  runPass(warm, warmInput.unique);
  runPass(warm, warmInput.zipf);
  for (let i = 0; i < 3; i++) warm.top100();
  warm = null;
  warmInput = null;
  const start = await settledSample(gc);

  const t0 = performance.now();
  let input: Input | null = buildInput(task.family, task.n, task.seed);
  const generateSeconds = (performance.now() - t0) / 1000;
  gc();
  gc();
  const beforeTracker = sample();

  const contender = await createContender(task.contender, task.n);
  const gcs: GcEntry[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as { detail?: { kind?: number } }).detail;
      gcs.push({ start: entry.startTime, duration: entry.duration, kind: detail?.kind ?? 0 });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  await nextTurn();

  const pass = task.perCall ? runPassPerCall : runPass;
  const uniqueTiming = pass(contender, input.unique);
  const zipfTiming = pass(contender, input.zipf);

  // GC entries are delivered on the event loop: let them arrive before reading them.
  await nextTurn();
  await nextTurn();
  observer.disconnect();

  const top100 = measureTop(contender);
  const afterRun = sample();
  const size = contender.size;
  const sharedMB = (contender.memoryBytes ?? 0) / MB;

  input = null;
  const final = await settledSample(gc);

  const result: ChildResult = {
    task,
    generateSeconds,
    processCpuSeconds: cpuMs() / 1000,
    unique: summarise(uniqueTiming, task.n, gcs),
    zipf: summarise(zipfTiming, task.n, gcs),
    top100,
    size,
    memory: {
      start,
      beforeTracker,
      afterRun,
      final,
      rssAfterRunMB: afterRun.rssMB,
      rssGrowthMB: afterRun.rssMB - beforeTracker.rssMB,
      retainedMB:
        final.heapUsedMB + final.externalMB + sharedMB - (start.heapUsedMB + start.externalMB),
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    },
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

await main();
