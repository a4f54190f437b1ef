// What the guard itself costs a request, in-process, without HTTP around it: Guard#admit and
// #finished on the memory store, 64 clients in turn (so that none reaches the bans' limit of
// 100,000 a second), with the tracker and hit counter (the default) and without them.
// Medians of 5 rounds of 1M requests.
//
//   npm run build && node --import tsx bench/http/guard-cost.ts
//
// The HTTP benchmark (run.ts) cannot resolve a cost this small on two shared cores; this one
// can, and a CPU profile of a server under load says the same share (docs/performance.md).

import { Guard } from 'hitwarden';
import { median } from '../stats.js';
import { BENCH_BANS } from './hitwarden-bans.js';

const REQUESTS = 1_000_000;
const ROUNDS = 5;
const req = {};
const clients = Array.from({ length: 64 }, (_, i) => `10.0.0.${i + 1}`);

for (const [label, extra] of [
  ['tracker + counter + BanHammer', {}],
  ['BanHammer only', { tracker: false, counter: false }],
] as const) {
  const guard = new Guard<object, object>({ bans: BENCH_BANS, ...extra }, 'bench');
  const perRequest: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < REQUESTS; i++) {
      const admission = guard.admit(req, clients[i & 63]!, undefined, 'GET /hello');
      if (admission instanceof Promise) throw new Error('the memory store decides at once');
      if (!admission.allowed) throw new Error('a request was refused: the limits are too low');
      guard.finished(req, req, admission.token);
    }
    perRequest.push(Number(process.hrtime.bigint() - start) / REQUESTS);
  }
  console.log(
    `${label.padEnd(32)} ${median(perRequest).toFixed(0)} ns a request (rounds ${perRequest.map((n) => n.toFixed(0)).join(', ')})`,
  );
}
