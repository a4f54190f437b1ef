import { createInterface } from 'node:readline';
import { BanHammer } from '../../../src/banhammer/ban-hammer.js';
import { RedisStore } from '../../../src/store/redis/redis-store.js';

/*
 * One process of the fleet in the concurrency test: a BanHammer on a RedisStore that, on "go"
 * (a line on stdin), counts `events` events of one token, `inFlight` at a time, and prints
 * what it saw as one JSON line.
 *
 *   node --import tsx test/store/redis/fleet-worker.ts <redis url> <prefix> <events> <inFlight>
 */

const [url = '', prefix = '', eventsText = '', inFlightText = ''] = process.argv.slice(2);
const events = Number(eventsText);
const inFlight = Number(inFlightText);

let actionCalls = 0;
const block = () => {
  actionCalls++;
};
// A generous timeout: this test is about exact counts, not about a loaded machine's latency.
const store = new RedisStore({ url, prefix, onFailure: 'failClosed', timeoutMs: 10_000 });
let storeErrors = 0;
store.on('store_error', () => storeErrors++);
const hammer = new BanHammer(
  {
    login_failed: {
      thresholds: [{ limit: 500, window: 3600, action: [block], action_duration: 3600 }],
    },
  },
  { store, maxPendingActions: 1_000_000 },
);
let tripped = 0;
hammer.on('tripped', () => tripped++);
// Open the connection before the start signal, so the fleet starts together.
await hammer.status('203.0.113.77', 'login_failed');
process.stdout.write('ready\n');
await new Promise<void>((resolve) => {
  createInterface({ input: process.stdin }).once('line', () => resolve());
});

let started = 0;
let passed = 0;
let refused = 0;
async function loop(): Promise<void> {
  while (started < events) {
    started++;
    if (await hammer.incr('203.0.113.77', 'login_failed')) passed++;
    else refused++;
  }
}
await Promise.all(Array.from({ length: inFlight }, loop));
await hammer.settled();
process.stdout.write(
  `${JSON.stringify({ passed, refused, tripped, actionCalls, storeErrors, metrics: store.metrics() })}\n`,
);
await hammer.close();
process.exit(0);
