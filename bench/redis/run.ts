import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { command, RedisCluster, RedisServer } from '../../test/support/redis-server.js';
import { countOption, flag, option } from '../args.js';
import { machine as host, writeResults } from '../results.js';
import { median, ratiosByRound, spread } from '../stats.js';
import { contenders } from './contenders.js';

/*
 * npm run bench:redis [-- --rounds 3 --seconds 3 --only name,name --cluster]
 * npm run bench:redis -- --quick     smoke run: 1 round of 1 s, in flight 1 and 100 (redis-quick.*)
 *
 * Starts one redis-server (persistence off, a free port), then measures every contender at
 * every concurrency on 1 token and on 100k tokens, each run in a fresh process of its own,
 * the data set flushed between runs. Rounds are interleaved (every configuration once, then
 * again, the contenders' order rotated each round) so a slow minute of the machine does not
 * land on one contender; the medians go to
 * bench/results/redis.md and redis.json (with --cluster: a 3-master Redis Cluster instead,
 * results in redis-cluster.md/.json).
 */

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const quick = flag('quick');
const rounds = countOption('rounds', quick ? 1 : 3);
const seconds = countOption('seconds', quick ? 1 : 3);
const names = option('only', Object.keys(contenders).join(',')).split(',');
const concurrencies = option('concurrency', quick ? '1,100' : '1,100,1000')
  .split(',')
  .map(Number);
const tokenCounts = option('tokens', '1,100000').split(',').map(Number);

interface Row extends Sample {
  contender: string;
  concurrency: number;
  tokens: number;
  rounds: number;
  /** Decisions per second in each round, in round order. */
  perRound: number[];
}

interface Sample {
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const onCluster = process.argv.includes('--cluster');
const servers = onCluster ? (await RedisCluster.start()).nodes : [await RedisServer.start()];
const ports = servers.map((server) => server.port).join(',');
const flushAll = () => Promise.all(servers.map((server) => command(server.port, 'FLUSHALL')));
const samples = new Map<string, Sample[]>();
const key = (name: string, concurrency: number, tokens: number) =>
  `${name}|${concurrency}|${tokens}`;
try {
  for (let round = 1; round <= rounds; round++) {
    for (const tokens of tokenCounts) {
      for (const concurrency of concurrencies) {
        // Each round starts with the next contender, so none always runs after the same one
        // (a run follows the FLUSHALL of the previous one's keys).
        const order = names.map((_, i) => names[(i + round - 1) % names.length]!);
        for (const name of order) {
          await flushAll();
          const { stdout } = await run(
            process.execPath,
            [
              '--import',
              'tsx',
              join(here, 'worker.ts'),
              name,
              ports,
              String(concurrency),
              String(tokens),
              String(seconds),
            ],
            { cwd: root },
          );
          const sample = JSON.parse(stdout.trim().split('\n').pop()!) as Sample;
          const list = samples.get(key(name, concurrency, tokens)) ?? [];
          list.push(sample);
          samples.set(key(name, concurrency, tokens), list);
          console.log(
            `round ${round}  ${name.padEnd(24)} c=${String(concurrency).padStart(4)} tokens=${String(tokens).padStart(6)}  ` +
              `${Math.round(sample.opsPerSecond).toLocaleString('en-US').padStart(8)}/s  ` +
              `p50 ${sample.p50Ms.toFixed(3)} ms  p99 ${sample.p99Ms.toFixed(3)} ms`,
          );
        }
      }
    }
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}

const redisVersion = (await run('redis-server', ['--version'])).stdout.trim();
const rows: Row[] = [];
for (const tokens of tokenCounts) {
  for (const concurrency of concurrencies) {
    for (const name of names) {
      const list = samples.get(key(name, concurrency, tokens))!;
      rows.push({
        contender: name,
        concurrency,
        tokens,
        opsPerSecond: Math.round(median(list.map((s) => s.opsPerSecond))),
        p50Ms: median(list.map((s) => s.p50Ms)),
        p99Ms: median(list.map((s) => s.p99Ms)),
        rounds: list.length,
        perRound: list.map((s) => Math.round(s.opsPerSecond)),
      });
    }
  }
}

const { cores, cpu, node } = host();
const machine = `${cores} × ${cpu}, Node ${node}, ${redisVersion}`;
const name = `${onCluster ? 'redis-cluster' : 'redis'}${quick ? '-quick' : ''}`;

const base = (row: Row) =>
  rows.find(
    (r) =>
      r.contender === 'rate-limiter-flexible' &&
      r.concurrency === row.concurrency &&
      r.tokens === row.tokens,
  );
const where = onCluster
  ? 'A 3-master Redis Cluster (3 redis-server processes, no replicas) on 127.0.0.1'
  : 'One redis-server on 127.0.0.1';
let md = `# Redis benchmark${onCluster ? ' (cluster)' : ''}\n\n${machine}. ${where} (persistence off) sharing the machine with Node; every run a fresh process, ioredis with auto-pipelining for every contender; medians of ${rounds} rounds of ${seconds} s. Reproduce: \`npm run bench:redis${onCluster || quick ? ' --' : ''}${onCluster ? ' --cluster' : ''}${quick ? ' --quick' : ''}\`.\n\n`;
md +=
  'The ratio is of the medians; the range beside it is of the ratios within each round (the\n' +
  'contenders of a round run one after the other), how much the comparison moves.\n\n';
md +=
  '| contender | tokens | in flight | decisions/s | × rate-limiter-flexible | per round | p50 ms | p99 ms |\n';
md += '|---|---:|---:|---:|---:|---:|---:|---:|\n';
for (const row of rows) {
  const peer = base(row);
  const ratio = peer ? (row.opsPerSecond / peer.opsPerSecond).toFixed(2) : '–';
  const ratios = peer ? spread(ratiosByRound(row.perRound, peer.perRound)) : null;
  const range = ratios ? `${ratios.min.toFixed(2)}–${ratios.max.toFixed(2)}` : '–';
  md += `| ${row.contender} | ${row.tokens.toLocaleString('en-US')} | ${row.concurrency.toLocaleString('en-US')} | ${row.opsPerSecond.toLocaleString('en-US')} | ${ratio} | ${range} | ${row.p50Ms.toFixed(3)} | ${row.p99Ms.toFixed(3)} |\n`;
}
writeResults(name, { date: new Date().toISOString(), machine, quick, seconds, rounds, rows }, md);
console.log(`\n${md}`);
