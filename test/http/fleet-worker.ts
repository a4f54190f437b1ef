import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hitwarden } from '../../src/http/node.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';

/*
 * One process of the fleet test: a node:http app guarded by hitwarden on a Redis store, on a
 * free port. It prints its URL as one line, then serves:
 *
 *   GET  /hello          200, unless the guard refuses
 *   POST /lift?token=T   lifts every ban of T (BanHammer#lift), 204; unguarded
 *   GET  /metrics        the BanHammer's counters and the store's metrics, as JSON; unguarded
 *
 *   node --import tsx test/http/fleet-worker.ts <redis url> <prefix>
 */

const [url = '', prefix = ''] = process.argv.slice(2);
const store = new RedisStore({ url, prefix, timeoutMs: 10_000 });
const ward = hitwarden({
  bans: {
    request: { thresholds: [{ limit: 1000, window: 60, action: [], action_duration: 60 }] },
    login_failed: { thresholds: [{ limit: 2, window: 600, action: [], action_duration: 3600 }] },
  },
  store,
  trustProxy: ['127.0.0.1'],
  countAfter: (req, res) =>
    req.url === '/login' && res.statusCode === 401 ? 'login_failed' : null,
});
const hammer = ward.guard.banHammer;

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST' && path.pathname === '/lift') {
    await hammer.lift(path.searchParams.get('token') ?? '');
    res.statusCode = 204;
    res.end();
    return;
  }
  if (path.pathname === '/metrics') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ counters: hammer.counters, store: store.metrics() }));
    return;
  }
  if (!(await ward(req, res))) return;
  if (req.method === 'POST' && path.pathname === '/login') {
    res.statusCode = 401;
    res.end('wrong password');
    return;
  }
  res.end('hello');
});
// Open the store before saying we are ready, so the first request meets an open store.
await hammer.decide('192.0.2.250', null);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', async () => {
  server.close();
  await hammer.close();
  process.exit(0);
});
