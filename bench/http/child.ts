import { createInterface } from 'node:readline';
import type { BuildServer } from './contract.js';

/*
 * One contender's server, in this process only: builds servers/<name>.ts, listens on a free
 * port of 127.0.0.1, prints one JSON line `{"port": N}`, answers each line on stdin with
 * `{"cpuMicros": N}`, and closes on SIGTERM.
 *
 *   node --import tsx bench/http/child.ts <server module>      (REDIS_URL for Redis contenders)
 */

const [name = ''] = process.argv.slice(2);
if (!/^[a-z0-9-]+$/.test(name))
  throw new Error(`not a server module name: ${JSON.stringify(name)}`);
const module = (await import(`./servers/${name}.ts`)) as { build?: BuildServer };
if (typeof module.build !== 'function') throw new Error(`servers/${name}.ts exports no build`);
const server = await module.build({
  redisUrl: process.env.REDIS_URL || undefined,
  behindProxy: process.env.BEHIND_PROXY === '1',
});
const port = await server.listen('127.0.0.1');
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
console.log(JSON.stringify({ port }));
// Each line on stdin asks for the CPU time this process has used so far (user + system, µs):
// the runner reads it around the measured run, for the server's CPU cost per request — a
// figure the load generator's share of the two cores does not move, as it moves throughput.
createInterface({ input: process.stdin }).on('line', () => {
  const { user, system } = process.cpuUsage();
  console.log(JSON.stringify({ cpuMicros: user + system }));
});
