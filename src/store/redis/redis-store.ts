import type { Cluster, Redis } from 'ioredis';
import { ConfigError, quoteInput, StoreError } from '../../errors.js';
import { Emitter } from '../../events.js';
import { functionOption, integerOption, optionsObject, timeoutMsOption } from '../../options.js';
import { type Clock, ClockGuard } from '../../time/clock.js';
import type { StatusEntry, TokenStatus } from '../stats.js';
import type { Decision, Store, StoreSetup } from '../store.js';
import { bySlot, groupOf, isMisrouted, routeAcrossSlots, slotOf } from './cluster.js';
import { type Batch, Coalescer } from './coalescer.js';
import { connect, type RedisConnectionOptions } from './connection.js';
import { Deadlines } from './deadline.js';
import {
  FailurePolicy,
  failurePolicyOption,
  type RedisFailurePolicy,
  storeErrorOf,
} from './failure-policy.js';
import { banKeyOf, eventsKeyOf, KEY_LAYOUT_LUA, liftChannelOf, stateKeyOf } from './keys.js';
import { decideArguments, type MetricPlan, planOf } from './metric-plan.js';
import { decodeDecisions, expiredAt, isEmpty, numbersOf, statusOf } from './replies.js';
import { parseStateKey, statePages } from './scan.js';
import { type RedisClient, RedisScript } from './script.js';
import { ServerClock } from './server-clock.js';

export type { RedisFailurePolicy } from './failure-policy.js';

export type RedisStoreOptions = RedisConnectionOptions & {
  /** Prefix of every key (no `{` or `}`: the hash tag is the token's). @default 'hitwarden:' */
  prefix?: string;
  /**
   * When Redis fails or does not answer within `timeoutMs`:
   * - `'failOpen'`: the event passes (counted in a local memory store, for the rates only);
   * - `'failClosed'`: the event is refused; nothing is counted;
   * - `'fallback'`: a local memory store decides, thresholds and bans included, until Redis
   *   answers again (its counts are this process's alone and are not copied to Redis).
   * Every failure emits `store_error`. @default 'fallback'
   */
  onFailure?: RedisFailurePolicy;
  /**
   * Longest wait for Redis per call (a decision's, `status`'s, each `SCAN` step's …), from 1
   * to 2^31 − 1 (`MAX_TIMEOUT_MS`). Past it the policy decides, and a script that reaches
   * Redis later writes nothing (its deadline travels with it). @default 500
   */
  timeoutMs?: number;
  /**
   * Time source. Default: the Redis server's `TIME`, read inside each script, so a fleet with
   * skewed clocks agrees. Give a clock for tests and replays only.
   */
  clock?: Clock;
  /** Most decisions coalesced into one script call. @default 512 */
  maxBatch?: number;
  /** Keys per `SCAN` step in `scan()`. @default 1000 */
  scanCount?: number;
};

/** Payload of the `store_error` event. */
export interface StoreErrorEvent {
  /** The operation that failed: `incr`, `ban`, `reset`, `status`, `banMs`, `scan`, or
   *  `watchLifts` (the lift subscription's connection failed: lifts published until it is
   *  back are missed; reported once per outage). */
  operation: string;
  /** Decisions the failure policy answered (0 for the other operations). */
  decisions: number;
  error: StoreError;
}

export interface RedisStoreMetrics {
  /** Script calls made for `incr` (each carrying one or more decisions). */
  script_calls: number;
  /** Decisions made by Redis. */
  decisions: number;
  /** Failed calls (each also a `store_error` event). */
  store_errors: number;
  /** Decisions answered by the failure policy. */
  policy_decisions: number;
  /** Script calls for several slots of one cluster node that found a slot elsewhere (it moved)
   *  and were made again slot by slot. */
  regrouped_calls: number;
  /** Script calls (decisions, bans, resets) that reached Redis after their deadline, so Redis
   *  ran none of their writes: the caller had been answered (or told of the failure). */
  expired_calls: number;
  /** Script calls Redis ran in time whose answer came after the deadline (a server that froze
   *  just after running them, a client whose event loop stalled): their writes stand although
   *  the caller was answered by the policy or told the call failed. */
  late_calls: number;
  /** Decisions in `late_calls`: counted by Redis and answered by the policy too. */
  late_decisions: number;
  /** Lifts heard by `watchLifts` (every process's resets of this prefix, this one's too). */
  lifts: number;
  /** Errors of the `watchLifts` connection (each failed reconnect counts). */
  lift_errors: number;
}

const DEFAULT_PREFIX = 'hitwarden:';
// Made at import, read on first use (script.ts).
const decideScript = new RedisScript('decide', ['lib'], KEY_LAYOUT_LUA);
const statusScript = new RedisScript('status', ['lib', 'state']);
const banScript = new RedisScript('ban', ['lib', 'state', 'token-ban']);
const resetScript = new RedisScript('reset', ['lib', 'state', 'token-ban']);
const banMsScript = new RedisScript('ban-ms', ['lib']);

/**
 * The BanHammer store for a fleet: counters and bans in Redis (a single node or a Cluster),
 * every decision atomic in one Lua script call on the Redis server's clock, every key
 * expiring. Decisions in flight together are coalesced into one script call per node (per
 * slot on a cluster); each is still evaluated atomically, in arrival order, and answered in
 * that one round trip. See docs/decisions/0005-redis-store-lua-coalescing.md.
 *
 * ```ts
 * const hammer = new BanHammer(bans, { store: new RedisStore({ url: 'redis://127.0.0.1:6379' }) });
 * ```
 */
export class RedisStore implements Store {
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #cluster: boolean;
  readonly #prefix: string;
  readonly #policy: FailurePolicy;
  /** The caller's clock as given (for the local store) and read under the clock rule. */
  readonly #clock: Clock | undefined;
  readonly #guard: ClockGuard | undefined;
  readonly #scanCount: number;
  /** `lift` is internal: `watchLifts`'s listener, called under the emitter's rule for a
   *  listener that throws. */
  readonly #events = new Emitter<{ store_error: StoreErrorEvent; lift: string }>('RedisStore');
  readonly #coalescer: Coalescer;
  #plans: MetricPlan[] | undefined;
  /** `StoreSetup.quota`: decide.lua replies each decision's quota. */
  #quota = false;
  /** The connection `watchLifts` subscribed on (made only then), and whether its outage has
   *  been reported. */
  #subscriber: RedisClient | undefined;
  #liftsDown = false;
  #closed = false;
  /** Script calls awaiting their answer, so `close()` can let them finish. */
  #inflight = 0;
  #drained: (() => void)[] = [];
  /** Every Redis call is bounded by `timeoutMs` here, whatever the client's own settings. */
  readonly #deadlines: Deadlines;
  /** The server's clock, for the deadlines the writing scripts check. */
  readonly #serverClock = new ServerClock();
  readonly #metrics: RedisStoreMetrics = {
    script_calls: 0,
    decisions: 0,
    store_errors: 0,
    policy_decisions: 0,
    regrouped_calls: 0,
    expired_calls: 0,
    late_calls: 0,
    late_decisions: 0,
    lifts: 0,
    lift_errors: 0,
  };

  constructor(options: RedisStoreOptions) {
    options = optionsObject('RedisStore', options);
    const prefix: unknown = options.prefix === undefined ? DEFAULT_PREFIX : options.prefix;
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new ConfigError(
        'RedisStore.prefix',
        `must be a string without { or } (the hash tag is the token's), got ${quoteInput(prefix)}`,
      );
    }
    this.#prefix = prefix;
    this.#policy = new FailurePolicy(failurePolicyOption(options.onFailure));
    const timeoutMs = timeoutMsOption('RedisStore.timeoutMs', options.timeoutMs, 500);
    this.#deadlines = new Deadlines(timeoutMs, 'RedisStore.timeoutMs');
    const maxBatch = integerOption('RedisStore.maxBatch', options.maxBatch, 512, 1);
    this.#coalescer = new Coalescer(maxBatch, (batch) => this.#send(batch));
    this.#scanCount = integerOption('RedisStore.scanCount', options.scanCount, 1000, 1);
    const clock =
      options.clock === undefined
        ? undefined
        : functionOption<Clock>(
            'RedisStore.clock',
            options.clock,
            options.clock,
            'returning epoch milliseconds',
          );
    this.#clock = clock;
    this.#guard = clock === undefined ? undefined : new ClockGuard(clock);
    const { client, owned, cluster } = connect('RedisStore', options, {
      // Our own client never queues commands while disconnected: a decision must not wait for
      // a reconnect; it fails at once and the policy answers. Reconnects come quickly.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // No `commandTimeout`: every call is bounded by `#deadlines`, one bound with one error.
      connectTimeout: Math.max(timeoutMs, 1000),
      retryStrategy: (times) => Math.min(50 * times, 250),
    });
    this.#client = client;
    this.#owned = owned;
    this.#cluster = cluster;
  }

  /** Subscribes to `store_error`: every failed Redis call, with what the policy did. */
  on(event: 'store_error', listener: (event: StoreErrorEvent) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'store_error', listener: (event: StoreErrorEvent) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** `store_error` listener calls that threw (caught, never reaching the caller; see
   *  src/events.ts). */
  get listenerErrors(): number {
    return this.#events.listenerErrors;
  }

  /** Counters since the store was made. */
  metrics(): Readonly<RedisStoreMetrics> {
    return { ...this.#metrics };
  }

  async open(setup: StoreSetup): Promise<void> {
    if (this.#plans !== undefined || this.#closed) {
      throw new StoreError('RedisStore is already bound to a BanHammer; give each its own store');
    }
    this.#quota = setup.quota === true;
    this.#plans = setup.metrics.map((metric) => planOf(metric, this.#quota));
    this.#policy.open(setup.metrics, this.#clock ?? setup.clock, this.#quota);
    if (this.#owned && this.#client.status !== 'ready') {
      // Wait (bounded) for the first connection so the first decisions do not fail for
      // nothing; if Redis is down, the policy answers until it is back.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#client.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(this.#deadlines.timeoutMs, 1000));
        this.#client.once('ready', done);
      });
    }
    // A first reading of the server's clock, so the first decisions' deadlines are on it. If
    // Redis does not answer, the deadlines start on this process's clock and the first reply
    // corrects them.
    try {
      const [seconds, micros] = await this.#deadlines.bound('Redis open', this.#client.time());
      this.#serverClock.observe(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    } catch {
      // Redis is away: the failure policy answers until it is back.
    }
  }

  incr(token: string, metric: number): Promise<Decision> {
    let plans: MetricPlan[];
    try {
      plans = this.#plansOrThrow();
    } catch (error) {
      return Promise.reject(error);
    }
    const state = stateKeyOf(this.#prefix, token, plans[metric]!.name);
    if (!this.#cluster) return this.#coalescer.add(0, -1, state, metric, token);
    const slot = slotOf(state);
    return this.#coalescer.add(groupOf(this.#client as Cluster, slot), slot, state, metric, token);
  }

  /** Bans the pair, and rewrites its token's `:ban` key from all the token's pairs (the ban
   *  replaces the threshold's last one, which may have ended later). */
  async ban(token: string, metric: number, threshold: number): Promise<TokenStatus> {
    const plans = this.#plansOrThrow();
    const plan = plans[metric]!;
    const state = stateKeyOf(this.#prefix, token, plan.name);
    const keys = [state, banKeyOf(this.#prefix, token)];
    const args = [
      this.#now(),
      '',
      String(plan.thresholds),
      String(threshold),
      String(plan.durationsMs[threshold]!),
      plan.shadows,
    ];
    this.#otherPairs(plans, token, metric, keys, args);
    try {
      const reply = await this.#write('Redis ban', banScript, keys, args, 1, this.#lateWrite);
      return statusOf(reply, 1);
    } catch (error) {
      throw this.#failed('ban', 0, error);
    }
  }

  /** Deletes the pair's keys through a script that carries a deadline like every other write
   *  (a bare `DEL` reaching Redis late would wipe what was counted after the caller was told
   *  the reset failed); rewrites the token's `:ban` key from its other pairs, and publishes
   *  the token to every process's `watchLifts`. */
  async reset(token: string, metric: number): Promise<void> {
    const plans = this.#plansOrThrow();
    const state = stateKeyOf(this.#prefix, token, plans[metric]!.name);
    const keys = [state, eventsKeyOf(state), banKeyOf(this.#prefix, token)];
    const args = ['', this.#now(), liftChannelOf(this.#prefix), token];
    this.#otherPairs(plans, token, metric, keys, args);
    try {
      await this.#write('Redis reset', resetScript, keys, args, 0, this.#lateWrite);
    } catch (error) {
      throw this.#failed('reset', 0, error);
    }
  }

  /** One `GET` of the token's `:ban key` and the time, bounded like `status`. */
  async banMs(token: string): Promise<number> {
    this.#plansOrThrow();
    const now = this.#now();
    try {
      const reply = (await this.#deadlines.bound(
        'Redis banMs',
        banMsScript.run(this.#client, [banKeyOf(this.#prefix, token)], [now]),
      )) as number[];
      return Math.max(0, reply[1]! - reply[0]!);
    } catch (error) {
      throw this.#failed('banMs', 0, error);
    }
  }

  /**
   * Calls `listener(token)` for every reset of this prefix, by any process of the fleet (this
   * one's included), on a subscriber connection of its own, made now (`duplicate()` of the
   * client: a `Redis` one, or on a Cluster a Cluster client of its own, whose subscriber is
   * one connection to any node, which hears every node's `PUBLISH`). ioredis reconnects it
   * and subscribes again; a lift published while it is away is missed, which its first
   * error reports (`store_error`, operation `watchLifts`). A listener that throws is counted
   * in `listenerErrors`, like a `store_error` one. `close()` closes the connection.
   */
  watchLifts(listener: (token: string) => void): void {
    this.#plansOrThrow();
    if (this.#subscriber !== undefined) {
      throw new StoreError('RedisStore.watchLifts is called once per store');
    }
    const channel = liftChannelOf(this.#prefix);
    // Waits for its connection (offline queue) and retries for ever: lifts must keep coming
    // whatever the client's settings for commands are.
    const retry = (times: number) => Math.min(100 * times, 2000);
    const subscriber = this.#cluster
      ? (this.#client as Cluster).duplicate([], {
          enableOfflineQueue: true,
          clusterRetryStrategy: retry,
        } as Parameters<Cluster['duplicate']>[1])
      : (this.#client as Redis).duplicate({
          enableOfflineQueue: true,
          autoResubscribe: true,
          maxRetriesPerRequest: null,
          lazyConnect: false,
          retryStrategy: retry,
        } as Parameters<Redis['duplicate']>[0]);
    this.#subscriber = subscriber;
    this.#events.on('lift', listener);
    subscriber.on('error', this.#liftError);
    subscriber.on('ready', () => {
      this.#liftsDown = false;
    });
    subscriber.on('message', (from: string, token: string) => {
      if (from !== channel) return;
      this.#metrics.lifts++;
      this.#events.emit('lift', token);
    });
    subscriber.subscribe(channel).catch(this.#liftError);
  }

  async status(token: string, metric: number): Promise<TokenStatus> {
    const plan = this.#plansOrThrow()[metric]!;
    const now = this.#now();
    try {
      return await this.#status(stateKeyOf(this.#prefix, token, plan.name), plan, now, 'status');
    } catch (error) {
      throw this.#failed('status', 0, error);
    }
  }

  /**
   * Walks the keyspace with `SCAN` (on every master of a cluster), never `KEYS`: memory held
   * is one `SCAN` page. A pair is listed under the metric name in its key; keys of metrics
   * this configuration does not have are skipped.
   */
  async *scan(): AsyncGenerator<StatusEntry> {
    const plans = this.#plansOrThrow();
    const byName = new Map(plans.map((plan) => [plan.name, plan]));
    const step = (page: Promise<[string, string[]]>) =>
      this.#deadlines.bound('Redis scan', page).catch((error: unknown) => {
        throw this.#failed('scan', 0, error);
      });
    for await (const keys of statePages(this.#client, this.#prefix, this.#scanCount, step)) {
      const rows = keys.flatMap((key) => {
        const pair = parseStateKey(key, this.#prefix, byName);
        return pair === undefined ? [] : [{ key, ...pair }];
      });
      const now = this.#now();
      const statuses = await Promise.all(
        rows.map((row) =>
          this.#status(row.key, row.plan, now, 'scan').catch((error) => {
            throw this.#failed('scan', 0, error);
          }),
        ),
      );
      for (let i = 0; i < rows.length; i++) {
        const status = statuses[i]!;
        const row = rows[i]!;
        // Expired between SCAN and the read: not tracked any more.
        if (isEmpty(status)) continue;
        yield { token: row.token, metric: row.plan.name, status };
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#coalescer.flush();
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#closed = true;
    await this.#policy.close();
    this.#subscriber?.disconnect();
    if (this.#owned) this.#client.disconnect();
  }

  /** One batch, one decide.lua call; the policy answers what Redis does not. */
  #send(batch: Batch): void {
    let args: string[];
    try {
      args = decideArguments(batch.metrics, this.#plans!, this.#now());
    } catch (error) {
      this.#policyDecides(batch, error);
      return;
    }
    const keys = batch.crossSlot ? routeAcrossSlots(batch.keys, args) : batch.keys;
    this.#metrics.script_calls++;
    this.#inflight++;
    const late = () => {
      this.#metrics.late_calls++;
      this.#metrics.late_decisions += batch.settle.length;
    };
    this.#write('Redis incr', decideScript, keys, args, 1, late).then(
      (reply) => {
        try {
          decodeDecisions(reply, batch.settle, this.#quota);
          this.#metrics.decisions += batch.settle.length;
        } catch (error) {
          this.#policyDecides(batch, error);
        }
        this.#landed();
      },
      (error: unknown) => {
        if (batch.crossSlot && isMisrouted(error)) {
          this.#metrics.regrouped_calls++;
          for (const part of bySlot(batch)) this.#send(part);
        } else {
          this.#policyDecides(batch, error);
        }
        this.#landed();
      },
    );
  }

  /** Redis failed, timed out or answered something unreadable: the policy decides (settling an
   *  already answered decision again does nothing). */
  #policyDecides(batch: Batch, error: unknown): void {
    this.#failed('incr', batch.settle.length, error);
    this.#metrics.policy_decisions += batch.settle.length;
    this.#policy.decide(batch.tokens, batch.metrics, batch.settle, this.#closed);
  }

  #landed(): void {
    if (--this.#inflight === 0 && this.#drained.length > 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  async #status(
    state: string,
    plan: MetricPlan,
    now: string,
    operation: string,
  ): Promise<TokenStatus> {
    const reply = await this.#deadlines.bound(
      `Redis ${operation}`,
      statusScript.run(this.#client, [state], [now, String(plan.thresholds)]),
    );
    return statusOf(reply as number[], 0);
  }

  /**
   * Runs a script that writes, bounded by `timeoutMs`, with its deadline on the server's clock
   * in `args[at]`: a call that reaches Redis after the client stopped waiting for it writes
   * nothing. Resolves the reply as numbers, the server's time first (which refines the
   * estimate of the server's clock); `late` hears of a reply that came after the deadline.
   */
  #write(
    operation: string,
    script: RedisScript,
    keys: readonly string[],
    args: string[],
    at: number,
    late: () => void,
  ): Promise<number[]> {
    const deadline = this.#deadlines.next();
    args[at] = String(this.#serverClock.toServer(deadline));
    const answered = script
      .run(this.#client, keys, args, script === decideScript ? 'buffer' : 'text')
      .then(this.#learn, this.#expired);
    return this.#deadlines.bound(operation, answered, deadline, late);
  }

  /** A writing script's reply as numbers; its first is the server's time. */
  readonly #learn = (reply: unknown): number[] => {
    const numbers = numbersOf(reply);
    this.#serverClock.observe(numbers[0]!);
    return numbers;
  };

  /** A writing script's failure; one that started after its deadline also tells the time. */
  readonly #expired = (error: unknown): never => {
    const serverTime = expiredAt(error);
    if (serverTime !== undefined) {
      this.#metrics.expired_calls++;
      this.#serverClock.observe(serverTime);
      throw new Error('the call reached Redis after its deadline, so Redis wrote nothing', {
        cause: error,
      });
    }
    throw error;
  };

  readonly #lateWrite = (): void => {
    this.#metrics.late_calls++;
  };

  /** An error of the lift subscription: counted, and reported once per outage (until it is
   *  ready again), not once per failed reconnect. Never thrown: it is off every caller's path. */
  readonly #liftError = (cause: unknown): void => {
    this.#metrics.lift_errors++;
    if (this.#liftsDown || this.#closed) return;
    this.#liftsDown = true;
    const message = cause instanceof Error ? cause.message : String(cause);
    this.#failed(
      'watchLifts',
      0,
      new Error(`${message}; lifts published until it is back are missed`, { cause }),
    );
  };

  /** Appends the `:state` key of each other metric of `token` to `keys`, and its shadow flags
   *  to `args` (token-ban.lua: the token's :ban key is recomputed from them). */
  #otherPairs(
    plans: readonly MetricPlan[],
    token: string,
    metric: number,
    keys: string[],
    args: string[],
  ): void {
    plans.forEach((plan, i) => {
      if (i === metric) return;
      keys.push(stateKeyOf(this.#prefix, token, plan.name));
      args.push(plan.shadows);
    });
  }

  /** `cause` as the `StoreError` of a failed `operation`, counted and reported. */
  #failed(operation: string, decisions: number, cause: unknown): StoreError {
    const error = storeErrorOf(operation, cause);
    this.#metrics.store_errors++;
    if (this.#events.has('store_error')) {
      this.#events.emit('store_error', { operation, decisions, error } satisfies StoreErrorEvent);
    }
    return error;
  }

  /** The caller's time for a script, or '' for the server's own; throws `InvalidTimeError`
   *  for a clock reading that is not a finite number. */
  #now(): string {
    return this.#guard === undefined ? '' : String(this.#guard.read());
  }

  #plansOrThrow(): MetricPlan[] {
    if (this.#plans === undefined || this.#closed) {
      throw new StoreError(this.#closed ? 'RedisStore is closed' : 'RedisStore is not open');
    }
    return this.#plans;
  }
}
