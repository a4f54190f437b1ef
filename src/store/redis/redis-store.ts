import { EventEmitter } from 'node:events';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { ConfigError, quoteInput, StoreError } from '../../errors.js';
import { functionOption, integerOption, optionsObject, timeoutMsOption } from '../../options.js';
import { type Clock, ClockGuard } from '../../time/clock.js';
import { MemoryStore } from '../memory/memory-store.js';
import type { Ban, StatusEntry, TokenStatus } from '../stats.js';
import type { Decision, Store, StoreMetric, StoreSetup } from '../store.js';
import { connect, isClusterClient, type RedisConnectionOptions } from './connection.js';
import { Deadlines } from './deadline.js';
import { unpackNumbers } from './msgpack.js';
import { type RedisClient, RedisScript } from './script.js';
import { ServerClock } from './server-clock.js';

/** What a `RedisStore` does with a decision when Redis does not answer in time. */
export type RedisFailurePolicy = 'failOpen' | 'failClosed' | 'fallback';

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
  /** The operation that failed: `incr`, `ban`, `reset`, `status` or `scan`. */
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
}

const DEFAULT_PREFIX = 'hitwarden:';
const decideScript = new RedisScript('decide', ['lib']);
const statusScript = new RedisScript('status', ['lib', 'state']);
const banScript = new RedisScript('ban', ['lib', 'state']);
const resetScript = new RedisScript('reset', ['lib']);
/** The error a writing script replies when it starts after its deadline (lib.lua). */
const EXPIRED = 'HITWARDEN_EXPIRED ';

/** Per metric, the script arguments describing it, built once at `open`. */
interface MetricPlan {
  readonly name: string;
  readonly thresholds: number;
  readonly durationsMs: readonly number[];
  /** n, ring, log ttl, refresh window, then (limit, window ms, duration ms) per threshold,
   *  as one JSON argument: the script decodes it in one call, and a call whose arguments are
   *  all text is written by ioredis as one string, not assembled into a Buffer piece by piece. */
  readonly config: string;
}

/** Decisions waiting for the same script call: one node's (on a cluster, one master's, or one
 *  slot's while the client does not know the slot's master yet). */
interface Batch {
  /** Each decision's `:state` key. */
  keys: string[];
  metrics: number[];
  tokens: string[];
  settle: ((decision: Decision) => void)[];
  /** The slot of the first key (-1 on a single node). */
  slot: number;
  /** Whether the keys span several slots (of one cluster node). */
  crossSlot: boolean;
}

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
  readonly #policy: RedisFailurePolicy;
  /** The caller's clock as given (for the local store) and read under the clock rule. */
  readonly #clock: Clock | undefined;
  readonly #guard: ClockGuard | undefined;
  readonly #maxBatch: number;
  readonly #scanCount: number;
  readonly #events = new EventEmitter();
  #plans: MetricPlan[] | undefined;
  #local: MemoryStore | undefined;
  /** Batches being filled in this event-loop turn, by group: 0 on a single node; on a cluster
   *  the master's address, or the slot while the client does not know its master. */
  #batches = new Map<number | string, Batch>();
  #flushScheduled = false;
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
    const policy: unknown = options.onFailure === undefined ? 'fallback' : options.onFailure;
    if (policy !== 'failOpen' && policy !== 'failClosed' && policy !== 'fallback') {
      throw new ConfigError(
        'RedisStore.onFailure',
        `must be 'failOpen', 'failClosed' or 'fallback', got ${quoteInput(policy)}`,
      );
    }
    this.#policy = policy;
    const timeoutMs = timeoutMsOption('RedisStore.timeoutMs', options.timeoutMs, 500);
    this.#deadlines = new Deadlines(timeoutMs, 'RedisStore.timeoutMs');
    this.#maxBatch = integerOption('RedisStore.maxBatch', options.maxBatch, 512, 1);
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

  /** Counters since the store was made. */
  metrics(): Readonly<RedisStoreMetrics> {
    return { ...this.#metrics };
  }

  async open(setup: StoreSetup): Promise<void> {
    if (this.#plans !== undefined || this.#closed) {
      throw new StoreError('RedisStore is already bound to a BanHammer; give each its own store');
    }
    this.#plans = setup.metrics.map(planOf);
    if (this.#policy !== 'failClosed') {
      this.#local = new MemoryStore();
      this.#local.openSync({ metrics: setup.metrics, clock: this.#clock ?? setup.clock });
    }
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
    let group: number | string = 0;
    let slot = -1;
    if (this.#cluster) {
      slot = calculateSlot(state);
      group = (this.#client as Cluster).slots[slot]?.[0] ?? slot;
    }
    let batch = this.#batches.get(group);
    if (batch === undefined) {
      batch = { keys: [], metrics: [], tokens: [], settle: [], slot, crossSlot: false };
      this.#batches.set(group, batch);
    } else if (slot !== batch.slot) {
      batch.crossSlot = true;
    }
    batch.keys.push(state);
    batch.metrics.push(metric);
    batch.tokens.push(token);
    const decided = new Promise<Decision>((resolve) => batch.settle.push(resolve));
    if (batch.metrics.length >= this.#maxBatch) {
      this.#batches.delete(group);
      this.#send(batch);
    } else if (!this.#flushScheduled) {
      // Runs once every promise continuation of this turn has run, i.e. after every caller
      // that was waiting for the last batch's answers has asked its next question.
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    }
    return decided;
  }

  async ban(token: string, metric: number, threshold: number): Promise<TokenStatus> {
    const plan = this.#plansOrThrow()[metric]!;
    const state = stateKeyOf(this.#prefix, token, plan.name);
    const args = [
      this.#now(),
      '',
      String(plan.thresholds),
      String(threshold),
      String(plan.durationsMs[threshold]!),
    ];
    try {
      const reply = await this.#write('Redis ban', banScript, [state], args, 1, this.#lateWrite);
      return statusOf(reply, 1);
    } catch (error) {
      throw this.#failed('ban', 0, error);
    }
  }

  /** Deletes the pair's keys through a script that carries a deadline like every other write:
   *  a bare `DEL` reaching Redis late would wipe what was counted after the caller was told
   *  the reset failed. */
  async reset(token: string, metric: number): Promise<void> {
    const state = stateKeyOf(this.#prefix, token, this.#plansOrThrow()[metric]!.name);
    try {
      await this.#write(
        'Redis reset',
        resetScript,
        [state, eventsKeyOf(state)],
        [''],
        0,
        this.#lateWrite,
      );
    } catch (error) {
      throw this.#failed('reset', 0, error);
    }
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
    const head = `${this.#prefix}{t:`;
    const pattern = `${escapeGlob(head)}*${STATE_SUFFIX}`;
    const client = this.#client;
    const nodes = isClusterClient(client) ? client.nodes('master') : [client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        let page: [string, string[]];
        try {
          page = await this.#deadlines.bound(
            'Redis scan',
            node.scan(cursor, 'MATCH', pattern, 'COUNT', this.#scanCount, 'TYPE', 'string'),
          );
        } catch (error) {
          throw this.#failed('scan', 0, error);
        }
        cursor = page[0];
        const rows = page[1].flatMap((key) => {
          const pair = parseKey(key, head, byName);
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
      } while (cursor !== '0');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#closed = true;
    await this.#local?.close();
    if (this.#owned) this.#client.disconnect();
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const batches = this.#batches;
    if (batches.size === 0) return;
    this.#batches = new Map();
    for (const batch of batches.values()) this.#send(batch);
  };

  #send(batch: Batch): void {
    const plans = this.#plans!;
    // Each metric's configuration once per call, then — when there are several — each
    // decision's position in that list.
    const metrics = batch.metrics;
    const first = metrics[0]!;
    let single = true;
    for (let i = 1; i < metrics.length && single; i++) single = metrics[i] === first;
    let now: string;
    try {
      now = this.#now();
    } catch (error) {
      this.#policyDecides(batch, error);
      return;
    }
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
    // Keys of several slots of one node: the first routes the call, all of them follow in
    // ARGV (a cluster refuses an EVALSHA whose KEYS span slots, not a script that reaches
    // undeclared keys of its own node).
    let keys = batch.keys;
    if (batch.crossSlot) {
      args[2] = String(keys.length);
      for (const key of keys) args.push(key);
      keys = [keys[0]!];
    }
    this.#metrics.script_calls++;
    this.#inflight++;
    const late = () => {
      this.#metrics.late_calls++;
      this.#metrics.late_decisions += batch.settle.length;
    };
    this.#write('Redis incr', decideScript, keys, args, 1, late).then(
      (reply) => {
        try {
          decode(reply, batch.settle);
          this.#metrics.decisions += batch.settle.length;
        } catch (error) {
          this.#policyDecides(batch, error);
        }
        this.#landed();
      },
      (error: unknown) => {
        if (batch.crossSlot && isMisrouted(error)) {
          // A slot of the batch is not (or not only) on the node the client thought: the
          // script stopped at its reads, before any write. Each slot's decisions go again
          // on their own, which the client routes (and redirects) by their keys.
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
    this.#decideLocally(batch);
  }

  #landed(): void {
    if (--this.#inflight === 0 && this.#drained.length > 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /** The failure policy's answers, in order. */
  #decideLocally(batch: Batch): void {
    this.#metrics.policy_decisions += batch.settle.length;
    batch.settle.forEach((settle, i) => {
      const local = this.#local;
      if (local === undefined || this.#closed) {
        settle(REFUSED);
        return;
      }
      const metric = batch.metrics[i]!;
      local.incr(batch.tokens[i]!, metric).then(
        (decision) =>
          settle(
            this.#policy === 'fallback'
              ? decision
              : { passed: true, stats: decision.stats, tripped: [], blocking: [] },
          ),
        () => settle(this.#policy === 'failClosed' ? REFUSED : PASSED_UNCOUNTED),
      );
    });
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
    const numbers = Buffer.isBuffer(reply)
      ? unpackNumbers(reply)
      : Array.isArray(reply)
        ? (reply as number[])
        : [reply as number];
    this.#serverClock.observe(numbers[0]!);
    return numbers;
  };

  /** A writing script's failure; one that started after its deadline also tells the time. */
  readonly #expired = (error: unknown): never => {
    if (error instanceof Error && error.message.startsWith(EXPIRED)) {
      this.#metrics.expired_calls++;
      this.#serverClock.observe(Number(error.message.slice(EXPIRED.length)));
      throw new Error('the call reached Redis after its deadline, so Redis wrote nothing', {
        cause: error,
      });
    }
    throw error;
  };

  readonly #lateWrite = (): void => {
    this.#metrics.late_calls++;
  };

  /** `cause` as the `StoreError` of a failed `operation` (a timeout is one already). */
  #failed(operation: string, decisions: number, cause: unknown): StoreError {
    const message = cause instanceof Error ? cause.message : String(cause);
    const error =
      cause instanceof StoreError
        ? cause
        : new StoreError(`Redis ${operation} failed: ${message}`, { cause });
    this.#metrics.store_errors++;
    if (this.#events.listenerCount('store_error') > 0) {
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

const ZERO_STATS = { token_rate_1m: 0, token_rate_10m: 0, token_rate_60m: 0 };
const REFUSED: Decision = { passed: false, stats: ZERO_STATS, tripped: [], blocking: [] };
const PASSED_UNCOUNTED: Decision = { passed: true, stats: ZERO_STATS, tripped: [], blocking: [] };

function planOf(metric: StoreMetric): MetricPlan {
  let maxLimit = 0;
  let maxWindowMs = 1;
  const config: number[] = [metric.thresholds.length, 0, 0, 0];
  for (const t of metric.thresholds) {
    maxLimit = Math.max(maxLimit, t.limit);
    maxWindowMs = Math.max(maxWindowMs, t.windowSeconds * 1000);
    config.push(t.limit, t.windowSeconds * 1000, t.durationSeconds * 1000);
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
    config: JSON.stringify(config),
  };
}

const STATE_SUFFIX = ':state';

/** The `:state` key of one (token, metric) pair (scripts/lib.lua says what it holds), with the
 *  hash tag `{t:<token>}`. */
function stateKeyOf(prefix: string, token: string, metric: string): string {
  return `${prefix}{t:${token}}:${metric}${STATE_SUFFIX}`;
}

/** The pair's `:events` key, beside its `:state` key (decide.lua derives it the same way). */
function eventsKeyOf(state: string): string {
  return `${state.slice(0, -STATE_SUFFIX.length)}:events`;
}

/** Token and metric of a `:state` key; `undefined` for a metric not configured here. The
 *  metric is the configured name the key ends with (`}:<metric>:state`), longest first. */
function parseKey(
  key: string,
  head: string,
  byName: Map<string, MetricPlan>,
): { token: string; plan: MetricPlan } | undefined {
  if (!key.startsWith(head) || !key.endsWith(STATE_SUFFIX)) return undefined;
  const middle = key.slice(head.length, -STATE_SUFFIX.length);
  let found: { token: string; plan: MetricPlan } | undefined;
  for (const [name, plan] of byName) {
    const tail = `}:${name}`;
    if (middle.endsWith(tail) && (found === undefined || name.length > found.plan.name.length)) {
      found = { token: middle.slice(0, -tail.length), plan };
    }
  }
  return found;
}

/** The usual `tripped` and `blocking` (both are read only). */
const NONE: readonly number[] = Object.freeze([]);

/** Splits the decide script's flat reply (after the server's time) into the batch's
 *  decisions. */
function decode(reply: number[], settle: ((decision: Decision) => void)[]): void {
  let at = 1;
  for (const resolve of settle) {
    if (reply.length < at + 6) throw new Error('decide.lua: the reply is too short');
    const passed = reply[at] === 1;
    const stats = {
      token_rate_1m: reply[at + 1]!,
      token_rate_10m: reply[at + 2]!,
      token_rate_60m: reply[at + 3]!,
    };
    const trippedCount = reply[at + 4]!;
    const blockingCount = reply[at + 5]!;
    at += 6;
    const tripped = trippedCount === 0 ? NONE : reply.slice(at, at + trippedCount);
    at += trippedCount;
    const blocking = blockingCount === 0 ? NONE : reply.slice(at, at + blockingCount);
    at += blockingCount;
    resolve({ passed, stats, tripped, blocking });
  }
}

/** Whether a failed call was refused because a key it reached is not served by the node it
 *  ran on (a slot moved, or is moving): what decide.lua may answer for a batch of several
 *  slots, always from its reads, before it writes anything. */
function isMisrouted(error: unknown): boolean {
  return (
    error instanceof Error &&
    /non local key|do not hash to the same slot|^(MOVED|ASK|TRYAGAIN|CROSSSLOT)\b/.test(
      error.message,
    )
  );
}

/** A batch of several slots split into one batch per slot, each in arrival order. */
function bySlot(batch: Batch): Batch[] {
  const parts = new Map<number, Batch>();
  batch.keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    let part = parts.get(slot);
    if (part === undefined) {
      part = { keys: [], metrics: [], tokens: [], settle: [], slot, crossSlot: false };
      parts.set(slot, part);
    }
    part.keys.push(key);
    part.metrics.push(batch.metrics[i]!);
    part.tokens.push(batch.tokens[i]!);
    part.settle.push(batch.settle[i]!);
  });
  return [...parts.values()];
}

/** [now, r1, r2, r3, until per threshold...] from `reply[at]` on → TokenStatus. */
function statusOf(reply: number[], at: number): TokenStatus {
  const bans: Ban[] = [];
  let blockedUntil: number | null = null;
  for (let i = at + 4; i < reply.length; i++) {
    const until = reply[i]!;
    if (until === 0) continue;
    bans.push({ threshold: i - at - 4, until });
    if (blockedUntil === null || until > blockedUntil) blockedUntil = until;
  }
  return {
    token_rate_1m: reply[at + 1]!,
    token_rate_10m: reply[at + 2]!,
    token_rate_60m: reply[at + 3]!,
    blocked_until: blockedUntil,
    bans,
  };
}

function isEmpty(status: TokenStatus): boolean {
  return status.token_rate_60m === 0 && status.bans.length === 0;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
