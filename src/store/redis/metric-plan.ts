import type { StoreMetric } from '../store.js';
import { stateTailBytes } from './keys.js';

/** Per metric, the script arguments describing it, built once at `open`. */
export interface MetricPlan {
  readonly name: string;
  readonly thresholds: number;
  readonly durationsMs: readonly number[];
  /** Per threshold '1' (shadow) or '0' (enforcing): how ban.lua and reset.lua tell which of a
   *  pair's bans hold its token (token-ban.lua). */
  readonly shadows: string;
  /** n, ring, log ttl, refresh window, the state key's tail after the hash tag in bytes (for
   *  the token's :ban key), quota (1: reply each decision's), then (limit, window ms,
   *  duration ms, shadow 0/1) per threshold, as one JSON argument: the script decodes it in
   *  one call, and a call whose arguments are all text is written by ioredis as one string,
   *  not assembled into a Buffer piece by piece. */
  readonly config: string;
}

/** `quota`: whether decide.lua replies each decision's quota (`StoreSetup.quota`). */
export function planOf(metric: StoreMetric, quota = false): MetricPlan {
  let maxLimit = 0;
  let maxWindowMs = 1;
  const config: number[] = [
    metric.thresholds.length,
    0,
    0,
    0,
    stateTailBytes(metric.name),
    quota ? 1 : 0,
  ];
  for (const t of metric.thresholds) {
    maxLimit = Math.max(maxLimit, t.limit);
    maxWindowMs = Math.max(maxWindowMs, t.windowSeconds * 1000);
    config.push(t.limit, t.windowSeconds * 1000, t.durationSeconds * 1000, t.shadow ? 1 : 0);
  }
  config[1] = maxLimit + 1;
  config[2] = Math.ceil(maxWindowMs);
  // TTLs are refreshed once per bucket of this rate window (1 s, 10 s, 60 s), the widest that
  // stays within a 60th of the longest window, so the slack it adds stays proportionate.
  config[3] = maxWindowMs >= 3_600_000 ? 3 : maxWindowMs >= 600_000 ? 2 : 1;
  return {
    name: metric.name,
    thresholds: metric.thresholds.length,
    durationsMs: metric.thresholds.map((t) => t.durationSeconds * 1000),
    shadows: metric.thresholds.map((t) => (t.shadow ? '1' : '0')).join(''),
    config: JSON.stringify(config),
  };
}

/**
 * decide.lua's ARGV for a batch of decisions of these `metrics`, at `now` ('' for the
 * server's clock): each metric's configuration once per call, then — when there are several —
 * each decision's position in that list. The deadline (ARGV[2]) is filled in when the call
 * is sent, and the cross-slot count (ARGV[3]) by `routeAcrossSlots`.
 */
export function decideArguments(
  metrics: readonly number[],
  plans: readonly MetricPlan[],
  now: string,
): string[] {
  const first = metrics[0]!;
  let single = true;
  for (let i = 1; i < metrics.length && single; i++) single = metrics[i] === first;
  const args: string[] = [now, '', '0', '1', plans[first]!.config];
  if (!single) {
    const position = new Map<number, number>([[first, 1]]);
    for (const metric of metrics) {
      if (position.has(metric)) continue;
      position.set(metric, position.size + 1);
      args.push(plans[metric]!.config);
    }
    args[3] = String(position.size);
    for (const metric of metrics) args.push(String(position.get(metric)!));
  }
  return args;
}
