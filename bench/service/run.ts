import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { command, RedisServer } from '../../test/support/redis-server.js';
import { countOption, flag } from '../args.js';
import { machine as host, writeResults } from '../results.js';
import { median, ratiosByRound, spread } from '../stats.js';

/*
 * npm run bench:service [-- --rounds 3 --seconds 10 --connections 50]
 * npm run bench:service -- --quick     smoke run: 1 round of 2 s (results in service-quick.*)
 *
 * `hitwarden serve` as a user starts it (the built CLI, its own process, a free port of
 * 127.0.0.1) under autocannon in this process: GET / (the dashboard page, not guarded) and
 * POST /login (guarded, JSON body parsed, countAfter counting login_successful) on the memory
 * store and on a private redis-server (free port, persistence off, flushed before each run);
 * then the cost of the dashboard's stream: GET /hello with no stream open, and with 10
 * /api/stream clients reading their snapshot a second, as a ratio in the same round. The
 * bans config has limits no run reaches: this measures the path, not refusals. Context for
 * the service, not a goal (bench:http carries the middleware's overhead). Results:
 * bench/results/service.md and service.json.
 */

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const quick = flag('quick');
const rounds = countOption('rounds', quick ? 1 : 3);
const seconds = countOption('seconds', quick ? 2 : 10);
const warmupSeconds = countOption('warmup', quick ? 1 : 3);
const connections = countOption('connections', 50);
const STREAMS = 10;

const work = mkdtempSync(join(tmpdir(), 'hitwarden-bench-service-'));
const bansFile = join(work, 'bans.yaml');
// Limits no run reaches (100,000 in one second): every request takes the whole path.
writeFileSync(
  bansFile,
  ['login_failed', 'login_successful', 'request']
    .map(
      (metric) =>
        `${metric}:\n  thresholds:\n    - { limit: 100000, window: 1, action_duration: 1 }\n`,
    )
    .join(''),
);

interface Case {
  name: string;
  store: 'memory' | 'redis';
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  streams: number;
}

const cases: Case[] = [
  { name: 'GET / (memory)', store: 'memory', method: 'GET', path: '/', streams: 0 },
  {
    name: 'POST /login (memory)',
    store: 'memory',
    method: 'POST',
    path: '/login',
    streams: 0,
    body: login(),
  },
  { name: 'GET / (redis)', store: 'redis', method: 'GET', path: '/', streams: 0 },
  {
    name: 'POST /login (redis)',
    store: 'redis',
    method: 'POST',
    path: '/login',
    streams: 0,
    body: login(),
  },
  { name: 'GET /hello, no stream', store: 'memory', method: 'GET', path: '/hello', streams: 0 },
  {
    name: `GET /hello, ${STREAMS} streams`,
    store: 'memory',
    method: 'GET',
    path: '/hello',
    streams: STREAMS,
  },
];

function login(): string {
  return JSON.stringify({ username: 'demo', password: 'hitwarden' });
}

interface Sample {
  case: string;
  round: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Snapshot events the open streams received during the measured run. */
  snapshots: number;
  /** CPU seconds the service's process used per second of the measured run. */
  serviceCpu: number;
}

async function startService(
  redisUrl: string | undefined,
): Promise<{ child: ChildProcess; url: string }> {
  const args = [bin, 'serve', '--port', '0', '--log-level', 'warn', '--bans', bansFile];
  if (redisUrl !== undefined) args.push('--redis', redisUrl);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve: no URL in 30 s: ${err}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
    child.stderr!.on('data', (chunk) => {
      err += chunk;
      const match = /dashboard at (http:\/\/\S+?)\/ /.exec(err);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  return { child, url };
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

/** CPU seconds used so far by process `pid` (utime + stime from /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const { stdout } = await run('cat', [`/proc/${pid}/stat`]);
  const fields = stdout.slice(stdout.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Opens `count` stream clients that read (and count) their events until aborted. */
function openStreams(url: string, count: number): { abort: () => void; snapshots: () => number } {
  const controller = new AbortController();
  let snapshots = 0;
  for (let i = 0; i < count; i++) {
    fetch(`${url}/api/stream`, { signal: controller.signal })
      .then(async (response) => {
        const decoder = new TextDecoder();
        for await (const chunk of response.body!) {
          snapshots += decoder.decode(chunk as Uint8Array).split('event: snapshot').length - 1;
        }
      })
      .catch(() => {});
  }
  return { abort: () => controller.abort(), snapshots: () => snapshots };
}

function cannon(url: string, c: Case, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}${c.path}`,
    method: c.method,
    connections,
    duration,
    pipelining: 1,
    ...(c.body === undefined
      ? {}
      : { body: c.body, headers: { 'content-type': 'application/json' } }),
  });
}

const redis = await RedisServer.start();
const samples: Sample[] = [];
const loadAtStart = loadavg()[0]!;
try {
  for (let round = 1; round <= rounds; round++) {
    const order = cases.map((_, i) => cases[(i + round - 1) % cases.length]!);
    for (const c of order) {
      if (c.store === 'redis') await command(redis.port, 'FLUSHALL');
      const { child, url } = await startService(c.store === 'redis' ? redis.url : undefined);
      try {
        const probe = await fetch(`${url}${c.path}`, {
          method: c.method,
          ...(c.body === undefined
            ? {}
            : { body: c.body, headers: { 'content-type': 'application/json' } }),
        });
        if (probe.status !== 200) throw new Error(`${c.name}: answered ${probe.status}`);
        const streams = openStreams(url, c.streams);
        try {
          await cannon(url, c, warmupSeconds);
          const cpuBefore = await cpuSeconds(child.pid!);
          const snapshotsBefore = streams.snapshots();
          const result = await cannon(url, c, seconds);
          const cpu = (await cpuSeconds(child.pid!)) - cpuBefore;
          const sample: Sample = {
            case: c.name,
            round,
            requestsPerSecond: result.requests.average,
            p50Ms: result.latency.p50,
            p99Ms: result.latency.p99,
            requests: result.requests.total,
            non2xx: result.non2xx,
            errors: result.errors,
            snapshots: streams.snapshots() - snapshotsBefore,
            serviceCpu: cpu / seconds,
          };
          samples.push(sample);
          console.log(
            `round ${round}  ${c.name.padEnd(24)} ${Math.round(sample.requestsPerSecond).toLocaleString('en-US').padStart(7)} req/s  ` +
              `p50 ${sample.p50Ms} ms  p99 ${sample.p99Ms} ms  cpu ${sample.serviceCpu.toFixed(2)}` +
              `${c.streams > 0 ? `  snapshots ${sample.snapshots}` : ''}${sample.non2xx + sample.errors > 0 ? `  non-2xx ${sample.non2xx}, errors ${sample.errors}` : ''}`,
          );
        } finally {
          streams.abort();
        }
      } finally {
        await stopService(child);
      }
    }
  }
} finally {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}
const loadAtEnd = loadavg()[0]!;

const of = (name: string) => samples.filter((s) => s.case === name);
const rows = cases.map((c) => {
  const mine = of(c.name);
  return {
    case: c.name,
    requestsPerSecond: Math.round(median(mine.map((s) => s.requestsPerSecond))),
    perRound: mine.map((s) => Math.round(s.requestsPerSecond)),
    p50Ms: median(mine.map((s) => s.p50Ms)),
    p99Ms: median(mine.map((s) => s.p99Ms)),
    serviceCpu: median(mine.map((s) => s.serviceCpu)),
    snapshots: median(mine.map((s) => s.snapshots)),
    non2xx: mine.reduce((sum, s) => sum + s.non2xx, 0),
    errors: mine.reduce((sum, s) => sum + s.errors, 0),
  };
});
const streamRatios = ratiosByRound(
  of(`GET /hello, ${STREAMS} streams`).map((s) => s.requestsPerSecond),
  of('GET /hello, no stream').map((s) => s.requestsPerSecond),
);

const { cores, cpu, node } = host();
const redisVersion = (await run('redis-server', ['--version'])).stdout.trim();
const machine = `${cores} × ${cpu}, Node ${node}, ${redisVersion}`;
const name = `service${quick ? '-quick' : ''}`;
const reproduce = `npm run bench:service${quick ? ' -- --quick' : ''}`;

let md = `# Service benchmark\n\n${machine}. Load average ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end. Reproduce: \`${reproduce}\`.\n\n`;
md +=
  `\`hitwarden serve\` (the built CLI in its own process, log level warn) under autocannon (${connections} connections, ` +
  `no pipelining, in the runner's process, on the same ${cores} cores): ${warmupSeconds} s of warm-up, then ${seconds} s measured; ` +
  `medians of ${rounds} round${rounds === 1 ? '' : 's'}, the cases' order rotated each round, a fresh service per case. ` +
  'GET / is the dashboard page (not guarded); POST /login is guarded, parses its JSON body and counts login_successful ' +
  'after the response; every request comes from 127.0.0.1 and no limit is reached. "cpu" is the service process\'s CPU ' +
  "seconds per second of the run. Context, not a goal: bench:http carries the middleware's overhead.\n\n";
md += '| case | req/s | per round | p50 ms | p99 ms | cpu | non-2xx / errors |\n';
md += '|---|---:|---|---:|---:|---:|---:|\n';
for (const row of rows) {
  md += `| ${row.case} | ${row.requestsPerSecond.toLocaleString('en-US')} | ${row.perRound.map((n) => n.toLocaleString('en-US')).join(', ')} | ${row.p50Ms} | ${row.p99Ms} | ${row.serviceCpu.toFixed(2)} | ${row.non2xx} / ${row.errors} |\n`;
}
const streamRange = spread(streamRatios);
md +=
  `\nThe stream's cost: GET /hello with ${STREAMS} /api/stream clients open runs at ${median(streamRatios).toFixed(3)}× ` +
  `(rounds ${streamRange.min.toFixed(3)}–${streamRange.max.toFixed(3)}) the rate with none; the clients received ` +
  `${rows.at(-1)!.snapshots} snapshots in the ${seconds} s (one a second each is ${STREAMS * seconds}). A snapshot here ` +
  'holds one client; with a full top 100 and many routes it is a few tens of kB, built once a second for all clients.\n';
writeResults(
  name,
  {
    date: new Date().toISOString(),
    machine,
    quick,
    rounds,
    seconds,
    warmupSeconds,
    connections,
    loadAtStart,
    loadAtEnd,
    rows,
    streamRatio: median(streamRatios),
    streamRatioRange: streamRange,
    samples,
  },
  md,
);
console.log(`\n${md}`);
