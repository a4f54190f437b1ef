import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { command, RedisServer } from '../../test/support/redis-server.js';
import { countOption, flag, option } from '../args.js';
import { machine as host, writeResults } from '../results.js';
import { median, ratiosByRound, spread } from '../stats.js';
import { bareOf, type Contender, contenders } from './contenders.js';

/*
 * npm run bench:http [-- --rounds 3 --seconds 10 --connections 100 --only name,name]
 * npm run bench:http -- --quick     smoke run: 1 round of 2 s (results in http-quick.*)
 *
 * autocannon against GET /hello of each contender (contenders.ts), each server in a process of
 * its own on a free port of 127.0.0.1, autocannon in this one; a warm-up, then the measured
 * run. Rounds run every contender once, the order rotated each round, so a slow minute of the
 * machine does not always land on the same one. Figures are medians of the rounds; each
 * contender's throughput is also taken as a ratio to its framework's bare server in the same
 * round. A private redis-server (free port, persistence off) serves the Redis contenders, and
 * is flushed before each of their runs. Results: bench/results/http.md and http.json.
 */

const run = promisify(execFile);
const childScript = fileURLToPath(new URL('./child.ts', import.meta.url));

const quick = flag('quick');
const rounds = countOption('rounds', quick ? 1 : 3);
const seconds = countOption('seconds', quick ? 2 : 10);
const warmupSeconds = countOption('warmup', quick ? 1 : 3);
/** Distinct clients the load comes from: 1, every request from 127.0.0.1 itself; more, named
 *  in turn in X-Forwarded-For by a proxy at 127.0.0.1 that every server trusts. */
const clients = countOption('clients', 1);
const connections = countOption('connections', 100);
const only = option('only', '');
const selected = only === '' ? [...contenders] : only.split(',').map(byName);
// Every ratio needs its framework's bare server in the same round.
for (const contender of [...selected]) {
  const bare = bareOf(contender.framework);
  if (!selected.includes(bare)) selected.push(bare);
}

function byName(name: string): Contender {
  const found = contenders.find((c) => c.name === name || c.server === name);
  if (found === undefined) {
    throw new Error(
      `--only: no contender ${JSON.stringify(name)} (${contenders.map((c) => c.server).join(', ')})`,
    );
  }
  return found;
}

interface Sample {
  contender: string;
  round: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** The server process's CPU time (user + system) over the measured run, per request. */
  cpuMicrosPerRequest: number;
  non2xx: number;
  errors: number;
}

/** Starts a contender's server process; resolves it and its port once it listens. */
async function startServer(
  contender: Contender,
  redisUrl: string | undefined,
): Promise<{ child: ChildProcess; port: number; cpu: () => Promise<number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, contender.server], {
    env: { ...process.env, REDIS_URL: redisUrl ?? '', BEHIND_PROXY: clients > 1 ? '1' : '0' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${contender.name}: no port in 30 s`)), 30_000);
    child.once('exit', (code) =>
      reject(new Error(`${contender.name}: exited (${code}) before listening`)),
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  const cpu = () =>
    new Promise<number>((resolve) => {
      lines.once('line', (line) => resolve((JSON.parse(line) as { cpuMicros: number }).cpuMicros));
      child.stdin!.write('cpu\n');
    });
  return { child, port, cpu };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

/** The headers a contender adds to a hello response (beyond the ones every server sends). */
const COMMON_HEADERS = new Set([
  'connection',
  'content-length',
  'content-type',
  'date',
  'etag',
  'keep-alive',
  'x-powered-by',
]);

async function probe(contender: Contender, port: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${port}/hello`);
  const body = await response.text();
  if (response.status !== 200 || JSON.parse(body).hello !== 'world') {
    throw new Error(`${contender.name}: GET /hello answered ${response.status} ${body}`);
  }
  return [...response.headers.keys()].filter((name) => !COMMON_HEADERS.has(name)).sort();
}

/** With `--clients N`, the addresses the load names in X-Forwarded-For, in turn. */
const forwarded = Array.from(
  { length: clients },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
);

function cannon(port: number, duration: number): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}/hello`,
    connections,
    duration,
    pipelining: 1,
    ...(clients > 1
      ? {
          requests: [
            {
              method: 'GET',
              path: '/hello',
              setupRequest: (request: autocannon.Request) => {
                request.headers = { ...request.headers, 'x-forwarded-for': forwarded[next]! };
                next = (next + 1) % clients;
                return request;
              },
            },
          ],
        }
      : {}),
  });
}

const needsRedis = selected.some((c) => c.redis);
const redis = needsRedis ? await RedisServer.start() : undefined;
const samples: Sample[] = [];
const headers = new Map<string, string[]>();
const loadAtStart = loadavg()[0]!;
try {
  for (let round = 1; round <= rounds; round++) {
    const order = selected.map((_, i) => selected[(i + round - 1) % selected.length]!);
    for (const contender of order) {
      if (contender.redis) await command(redis!.port, 'FLUSHALL');
      const { child, port, cpu } = await startServer(
        contender,
        contender.redis ? redis!.url : undefined,
      );
      try {
        headers.set(contender.name, await probe(contender, port));
        await cannon(port, warmupSeconds);
        const cpuBefore = await cpu();
        const result = await cannon(port, seconds);
        const cpuMicros = (await cpu()) - cpuBefore;
        const sample: Sample = {
          contender: contender.name,
          round,
          requestsPerSecond: result.requests.average,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          requests: result.requests.total,
          cpuMicrosPerRequest: cpuMicros / Math.max(1, result.requests.total),
          non2xx: result.non2xx,
          errors: result.errors,
        };
        samples.push(sample);
        console.log(
          `round ${round}  ${contender.name.padEnd(40)} ${Math.round(sample.requestsPerSecond).toLocaleString('en-US').padStart(7)} req/s  ` +
            `p50 ${sample.p50Ms} ms  p99 ${sample.p99Ms} ms${sample.non2xx + sample.errors > 0 ? `  non-2xx ${sample.non2xx}, errors ${sample.errors}` : ''}`,
        );
      } finally {
        await stopServer(child);
      }
    }
  }
} finally {
  await redis?.stop();
}
const loadAtEnd = loadavg()[0]!;

interface Row {
  contender: string;
  framework: string;
  requestsPerSecond: number;
  /** Requests per second of each round, in round order. */
  perRound: number[];
  /** Median of the per-round ratios to the framework's bare server, and their range. */
  ratioToBare: number;
  ratioRange: { min: number; max: number };
  /** The server's CPU µs per request (median of rounds), and what it adds to the bare
   *  server's in the same round (median of the per-round differences), and their range. */
  cpuMicrosPerRequest: number;
  cpuAddedMicros: number;
  cpuAddedRange: { min: number; max: number };
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  headers: string[];
}

const of = (name: string) => samples.filter((s) => s.contender === name);
const rows: Row[] = selected.map((contender) => {
  const mine = of(contender.name);
  const bare = of(bareOf(contender.framework).name);
  const ratios = ratiosByRound(
    mine.map((s) => s.requestsPerSecond),
    bare.map((s) => s.requestsPerSecond),
  );
  const added = mine.map(
    (s, i) => s.cpuMicrosPerRequest - (bare[i]?.cpuMicrosPerRequest ?? Number.NaN),
  );
  return {
    contender: contender.name,
    framework: contender.framework,
    cpuMicrosPerRequest: median(mine.map((s) => s.cpuMicrosPerRequest)),
    cpuAddedMicros: median(added),
    cpuAddedRange: spread(added),
    requestsPerSecond: Math.round(median(mine.map((s) => s.requestsPerSecond))),
    perRound: mine.map((s) => Math.round(s.requestsPerSecond)),
    ratioToBare: median(ratios),
    ratioRange: spread(ratios),
    p50Ms: median(mine.map((s) => s.p50Ms)),
    p99Ms: median(mine.map((s) => s.p99Ms)),
    non2xx: mine.reduce((sum, s) => sum + s.non2xx, 0),
    errors: mine.reduce((sum, s) => sum + s.errors, 0),
    headers: headers.get(contender.name) ?? [],
  };
});

const { cores, cpu, node } = host();
const redisVersion = needsRedis ? (await run('redis-server', ['--version'])).stdout.trim() : '';
const dev = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    devDependencies: Record<string, string>;
  }
).devDependencies;
const machine = `${cores} × ${cpu}, Node ${node}${redisVersion ? `, ${redisVersion}` : ''}`;
// A many-client run is another workload: its results go to files of their own.
const name = `http${clients > 1 ? `-clients-${clients}` : ''}${quick ? '-quick' : ''}`;
const reproduce = `npm run bench:http${quick || clients > 1 ? ' --' : ''}${quick ? ' --quick' : ''}${clients > 1 ? ` --clients ${clients}` : ''}`;

let md = `# HTTP benchmark\n\n${machine}. Load average ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end. Reproduce: \`${reproduce}\`.\n\n`;
md +=
  `autocannon (${connections} connections, no pipelining, in the runner's process) against GET /hello ` +
  `of each server, each in a process of its own on 127.0.0.1: ${warmupSeconds} s of warm-up, then ${seconds} s measured; ` +
  `medians of ${rounds} round${rounds === 1 ? '' : 's'}, the contenders' order rotated each round. ` +
  (clients > 1
    ? `The requests name ${clients.toLocaleString('en-US')} clients in turn in X-Forwarded-For, as a proxy at 127.0.0.1 would; every server trusts that proxy and keys its limiter by the forwarded client; no limit is reached. `
    : `Every request comes from 127.0.0.1, so a limiter keyed by address sees one hot client; no limit is reached. `) +
  `Versions: fastify ${dev.fastify}, @fastify/rate-limit ${dev['@fastify/rate-limit']}, express ${dev.express}, ` +
  `express-rate-limit ${dev['express-rate-limit']}, autocannon ${dev.autocannon}.\n\n`;
md +=
  '"× bare" is the median of the per-round ratios to the same framework\'s bare server (measured in\n' +
  'the same round, minutes apart at most); the range beside it is of those ratios: how much the\n' +
  'comparison moved between rounds.\n\n' +
  '"server CPU" is the server process\'s own CPU time (user + system) over the measured run per\n' +
  'request, and "+ CPU" what it adds to the bare server\'s in the same round (median of rounds, range\n' +
  'beside it). On a 2-core machine autocannon and the server share the cores, so throughput moves\n' +
  "with whatever else runs; the server's CPU per request is the steadier measure of what a\n" +
  'middleware costs.\n\n';
md +=
  '| contender | req/s | per round | × bare | range | server CPU µs/req | + CPU µs | range | p50 ms | p99 ms | non-2xx / errors | headers it adds |\n';
md += '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n';
for (const row of rows) {
  md += `| ${row.contender} | ${row.requestsPerSecond.toLocaleString('en-US')} | ${row.perRound.map((n) => n.toLocaleString('en-US')).join(', ')} | ${row.ratioToBare.toFixed(3)} | ${row.ratioRange.min.toFixed(3)}–${row.ratioRange.max.toFixed(3)} | ${row.cpuMicrosPerRequest.toFixed(1)} | ${row.cpuAddedMicros.toFixed(1)} | ${row.cpuAddedRange.min.toFixed(1)}–${row.cpuAddedRange.max.toFixed(1)} | ${row.p50Ms} | ${row.p99Ms} | ${row.non2xx} / ${row.errors} | ${row.headers.join(', ') || '–'} |\n`;
}
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
    clients,
    loadAtStart,
    loadAtEnd,
    rows,
    samples,
  },
  md,
);
console.log(`\n${md}`);
