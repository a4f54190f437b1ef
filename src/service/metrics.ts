import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BanHammer, Verdict } from '../banhammer/ban-hammer.js';
import type { HitCounter } from '../counter/hit-counter.js';
import type { Guard } from '../http/guard.js';
import type { RedisStore } from '../store/redis/redis-store.js';
import type { IpTracker } from '../tracker/ip-tracker.js';
import type { ServiceState } from './state.js';

/*
 * GET /metrics: Prometheus text from prom-client, names in Prometheus style (hitwarden_
 * prefix, base units, _total on counters). Labels are only ever metric names, threshold
 * indices and fixed words from the configuration and the code, never an address or a token:
 * a label per client would make a series per attacker.
 *
 * Decisions, refusals and their latency come from the guard's `onVerdict` as they happen;
 * trips and action errors from the BanHammer's events; the rest (totals the engines keep
 * anyway, sizes) is read when Prometheus scrapes.
 */

/** Seconds, from 1 µs: a decision on the memory store takes about one, on Redis a round trip. */
const LATENCY_BUCKETS = [
  1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05,
  0.1, 0.25, 1,
];

export interface MetricsSources {
  banHammer: BanHammer<boolean>;
  tracker: IpTracker;
  counter: HitCounter;
  guard: () => Guard<unknown, unknown> | undefined;
  redis: RedisStore | undefined;
  /** Requests the tracker counted this period. */
  trackerRequests: () => number;
  /** Bans in force per metric (a scan, cached by the caller). */
  activeBans: () => Promise<Map<string, number>>;
  streamClients: () => number;
  /** With `--state`: how each engine was restored, and the saves. */
  state?: ServiceState | undefined;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #decisions: Counter<'metric' | 'result'>;
  readonly #refusals: Counter<'by'>;
  readonly #latency: Histogram<'metric'>;
  readonly #trips: Counter<'metric' | 'tier' | 'mode' | 'origin'>;
  readonly #actionErrors: Counter<'metric' | 'reason'>;

  constructor(sources: MetricsSources) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.#decisions = new Counter({
      name: 'hitwarden_decisions_total',
      help: 'Requests decided by the guard, by the metric counted ("none": no metric) and result.',
      labelNames: ['metric', 'result'],
      registers: [registry],
    });
    this.#refusals = new Counter({
      name: 'hitwarden_refusals_total',
      help: 'Requests refused, by how: counted (a ban met by this event), cached (the deny cache), checked (a ban looked up), deny_list.',
      labelNames: ['by'],
      registers: [registry],
    });
    this.#latency = new Histogram({
      name: 'hitwarden_decision_duration_seconds',
      help: 'Time from a request reaching the guard to its verdict.',
      labelNames: ['metric'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#trips = new Counter({
      name: 'hitwarden_trips_total',
      help: 'Thresholds tripped (bans started), by metric, tier (threshold index), mode (enforce or shadow) and origin (events or manual).',
      labelNames: ['metric', 'tier', 'mode', 'origin'],
      registers: [registry],
    });
    this.#actionErrors = new Counter({
      name: 'hitwarden_action_errors_total',
      help: 'Actions that threw, rejected, timed out or were dropped, by metric and reason.',
      labelNames: ['metric', 'reason'],
      registers: [registry],
    });
    const { banHammer } = sources;
    banHammer.on('tripped', (event) => {
      this.#trips.inc({
        metric: event.metric,
        tier: String(event.threshold),
        mode: event.shadow ? 'shadow' : 'enforce',
        origin: event.manual ? 'manual' : 'events',
      });
    });
    banHammer.on('action_error', (event) => {
      this.#actionErrors.inc({ metric: event.metric, reason: event.reason }, event.count);
    });
    for (const metric of banHammer.metrics) {
      for (const result of ['allowed', 'refused']) this.#decisions.inc({ metric, result }, 0);
    }

    // Totals kept by the engines, read at scrape time.
    totalOf(registry, 'hitwarden_actions_run_total', 'Actions run.', () =>
      Number(banHammer.counters.actions_run),
    );
    totalOf(registry, 'hitwarden_store_errors_total', 'Failed store calls (Redis).', () =>
      sources.redis === undefined ? 0 : sources.redis.metrics().store_errors,
    );
    totalOf(
      registry,
      'hitwarden_failure_policy_decisions_total',
      "Decisions answered by the Redis store's failure policy (onFailure) while Redis failed.",
      () => (sources.redis === undefined ? 0 : sources.redis.metrics().policy_decisions),
    );
    totalOf(
      registry,
      'hitwarden_guard_errors_total',
      'Calls that failed inside the guard (the request went on unguarded).',
      () => sources.guard()?.errors ?? 0,
    );
    totalOf(
      registry,
      'hitwarden_tracker_requests_total',
      'Requests counted by the IP tracker this period.',
      sources.trackerRequests,
    );
    new Gauge({
      name: 'hitwarden_tracker_addresses',
      help: 'Distinct client addresses the IP tracker holds this period.',
      registers: [registry],
      collect() {
        this.set(sources.tracker.size);
      },
    });
    new Gauge({
      name: 'hitwarden_hit_counter_keys',
      help: 'Keys (route templates) the hit counter holds.',
      registers: [registry],
      collect() {
        this.set(sources.counter.metrics().keys_count);
      },
    });
    new Gauge({
      name: 'hitwarden_stream_clients',
      help: 'Open /api/stream connections.',
      registers: [registry],
      collect() {
        this.set(sources.streamClients());
      },
    });
    new Gauge({
      name: 'hitwarden_active_bans',
      help: 'Tokens with an enforcing ban in force, by metric.',
      labelNames: ['metric'],
      registers: [registry],
      async collect() {
        const counts = await sources.activeBans();
        for (const metric of banHammer.metrics) this.set({ metric }, counts.get(metric) ?? 0);
      },
    });
    if (sources.state !== undefined) this.#stateMetrics(registry, sources.state);
  }

  /** With `--state`: how each engine started, and the saves since. */
  #stateMetrics(registry: Registry, state: ServiceState): void {
    new Gauge({
      name: 'hitwarden_state_restored',
      help: 'How each engine started: 1 for its "from" (current: its saved file; previous: the file was refused and its previous generation loaded; none: started empty).',
      labelNames: ['engine', 'from'],
      registers: [registry],
      collect() {
        for (const restored of state.restored) {
          for (const from of ['current', 'previous', 'none'] as const) {
            this.set({ engine: restored.engine, from }, restored.from === from ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'hitwarden_state_files_refused',
      help: 'Saved state files refused at start (truncated, corrupt, wrong version or kind), by engine: look at the log.',
      labelNames: ['engine'],
      registers: [registry],
      collect() {
        for (const restored of state.restored)
          this.set({ engine: restored.engine }, restored.refused.length);
      },
    });
    totalOf(
      registry,
      'hitwarden_state_saves_total',
      'State saves run (periodic and at shutdown).',
      () => state.saves,
    );
    totalOf(
      registry,
      'hitwarden_state_save_failures_total',
      'State saves in which an engine could not be saved (the last good file stays).',
      () => state.failedSaves,
    );
    new Gauge({
      name: 'hitwarden_state_last_save_seconds',
      help: 'How long the last state save took.',
      registers: [registry],
      collect() {
        this.set((state.lastSave?.ms ?? 0) / 1000);
      },
    });
  }

  /** The guard's `onVerdict`. */
  readonly onVerdict = (verdict: Verdict, metric: string | null, durationNs: number): void => {
    const name = metric ?? 'none';
    this.#decisions.inc({ metric: name, result: verdict.allowed ? 'allowed' : 'refused' });
    if (!verdict.allowed) this.#refusals.inc({ by: verdict.by });
    this.#latency.observe({ metric: name }, durationNs / 1e9);
  };

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** A counter whose value another component keeps: raised to it at each scrape. A value that
 *  went down (a reset) starts the counter again, as Prometheus expects of a restart. */
function totalOf(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value < seen) {
        this.reset();
        seen = 0;
      }
      if (value > seen) this.inc(value - seen);
      seen = value;
    },
  });
}
