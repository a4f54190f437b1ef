import { Cluster, Redis } from 'ioredis';
import { contenders } from './contenders.js';

/*
 * One measurement: one contender, one concurrency, one token count, in this process only.
 * `concurrency` loops each await a decision and start the next (a closed loop), for `seconds`
 * after a warm-up. Prints one JSON line: decisions per second and latency percentiles.
 *
 *   node --import tsx bench/redis/worker.ts <contender> <port[,port...]> <concurrency> <tokens> <seconds>
 *
 * Several ports: the masters of a Redis Cluster.
 */

const [name = '', port = '', concurrencyText = '', tokensText = '', secondsText = ''] =
  process.argv.slice(2);
const factory = contenders[name];
if (factory === undefined) throw new Error(`unknown contender ${name}`);
const concurrency = Number(concurrencyText);
const tokenCount = Number(tokensText);
const seconds = Number(secondsText);

// The same client settings for every contender: auto-pipelining on, so the commands issued in
// one event-loop turn leave in one write, whoever issues them.
const ports = port.split(',').map(Number);
const client =
  ports.length > 1
    ? new Cluster(
        ports.map((p) => ({ host: '127.0.0.1', port: p })),
        { enableAutoPipelining: true },
      )
    : new Redis(ports[0]!, '127.0.0.1', { enableAutoPipelining: true });
const contender = await factory(client);
const tokens = Array.from(
  { length: tokenCount },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
);

let next = 0;
let measuring = false;
let stop = false;
let done = 0;
const latencies: number[] = [];

async function loop(): Promise<void> {
  while (!stop) {
    const token = tokens[next++ % tokenCount]!;
    // Only decisions that start and end inside the measured span count (one that started in
    // the warm-up would report its latency from 0).
    const counted = measuring;
    const start = performance.now();
    await contender.decide(token);
    if (counted && measuring) {
      done++;
      if (latencies.length < 2_000_000) latencies.push(performance.now() - start);
    }
  }
}

const loops = Array.from({ length: concurrency }, loop);
await new Promise((resolve) => setTimeout(resolve, Math.min(1000, seconds * 300)));
measuring = true;
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const elapsed = (performance.now() - started) / 1000;
measuring = false;
stop = true;
await Promise.all(loops);
await contender.close();
client.disconnect();

latencies.sort((a, b) => a - b);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ opsPerSecond: done / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) })}\n`,
);
