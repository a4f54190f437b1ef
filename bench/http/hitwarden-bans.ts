import type { BansConfig } from 'hitwarden';

/*
 * The bans every hitwarden contender runs: a per-request metric with a limit no run reaches
 * (the benchmark sends its whole load from one client, 127.0.0.1, at tens of thousands of
 * requests a second: 100,000 in a second leaves room), and a login metric that only
 * `countAfter` would count. The tracker and the hit counter are on, as by default.
 */
export const BENCH_BANS: BansConfig = {
  request: { thresholds: [{ limit: 100_000, window: 1, action: [], action_duration: 60 }] },
  login_failed: { thresholds: [{ limit: 10, window: 600, action: [], action_duration: 3600 }] },
};
