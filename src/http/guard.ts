import { BanHammer, type BanHammerOptions, type Verdict } from '../banhammer/ban-hammer.js';
import type { BansConfig } from '../banhammer/config.js';
import { HitCounter } from '../counter/hit-counter.js';
import { ConfigError, quoteInput } from '../errors.js';
import { formatIPv6 } from '../ip/format.js';
import { choiceOption, functionOption, optionsObject } from '../options.js';
import type { Store } from '../store/store.js';
import { IpTracker } from '../tracker/ip-tracker.js';
import { ClientAddress } from './client-address.js';
import { policyName, RateLimitFields, retryAfterSeconds } from './ratelimit-fields.js';

/*
 * The framework-neutral request guard under the three adapters (express.ts, fastify.ts,
 * node.ts). An adapter reads the socket's address and X-Forwarded-For from its request,
 * asks `admit`, writes what comes back, and calls `finished` once the response is sent; every
 * rule lives here, so the three behave alike and stay thin.
 *
 * One request: the client token (client-address.ts); the tracker and the hit counter are fed
 * (refused requests included); the BanHammer's `decide` counts the request's metric and says
 * whether the token may go on, with a ban on any metric refusing it on every route; a refusal
 * gets 429, `Retry-After` and the RateLimit fields. After the response, `countAfter` may count
 * an outcome only the application knows (a 401 on /login), which can ban the token in turn.
 */

/** What the application sees of a refusal: in `onRefused`, and as the default JSON body. */
export interface Refusal {
  /** The client token refused (an address, or an IPv6 prefix such as `2001:db8::/64`). */
  readonly token: string;
  /** The metric counted for the request, or null. */
  readonly metric: string | null;
  /** Whole seconds until the token's bans end (`Retry-After`); 0 when there is no end to
   *  give (a deny-listed token, a ban of no duration). */
  readonly retryAfter: number;
  /** The BanHammer's verdict. */
  readonly verdict: Verdict;
  /** The response headers the guard has set: `Retry-After` and the RateLimit fields. */
  readonly headers: Readonly<Record<string, string>>;
}

/** When the RateLimit fields are sent. */
export type HeadersMode = 'refusals' | 'all';

export interface GuardOptions<Req, Res> {
  /** The bans configuration of a BanHammer the guard makes (with `store`). */
  bans?: BansConfig;
  /** An existing BanHammer, instead of `bans`. */
  banHammer?: BanHammer<boolean>;
  /** Where the BanHammer made from `bans` keeps its counts. @default a new MemoryStore */
  store?: Store;
  /** CIDR ranges always let through, never counted (BanHammer `allowList`; with `bans`). */
  allowList?: Iterable<string>;
  /** CIDR ranges always refused (BanHammer `denyList`; with `bans`). */
  denyList?: Iterable<string>;
  /**
   * The metric counted for each request before the handler runs: a metric name, a function of
   * the request returning one (or null), or null to count nothing — a ban from any metric
   * is still refused. @default 'request'
   */
  metric?: string | null | ((req: Req) => string | null);
  /** Counted once the response has finished: a metric for outcomes only the application
   *  knows, e.g. `(req, res) => res.statusCode === 401 ? 'login_failed' : null`. */
  countAfter?: (req: Req, res: Res) => string | null | undefined;
  /** Proxies whose X-Forwarded-For is believed (CIDR ranges, IPv4 and IPv6). @default [] */
  trustProxy?: readonly string[];
  /** IPv6 clients are one token per prefix of this length; false: per address. @default 64 */
  ipv6Subnet?: number | false;
  /** The client token, instead of the address rule (e.g. an API key). Return undefined to
   *  fall back to the address. */
  keyGenerator?: (req: Req) => string | undefined;
  /** Fed every client address (refused requests included). false: none. @default new IpTracker() */
  tracker?: IpTracker | false;
  /** Fed every request under its route template. false: none. @default new HitCounter() */
  counter?: HitCounter | false;
  /** The RateLimit fields (and `Retry-After`) on refusals only, on every response, or never
   *  (false; `Retry-After` is still sent on refusals). @default 'refusals' */
  headers?: HeadersMode | false;
  /** Requests the guard leaves alone entirely: not tracked, counted nor refused. */
  skip?: (req: Req) => boolean;
  /** Answers a refused request (the status and headers are set; send the body). @default a
   *  429 with `{ error: 'too_many_requests', message, retryAfter }` */
  onRefused?: (req: Req, res: Res, refusal: Refusal) => void;
  /** A call that failed inside the guard (a `metric`, `countAfter`, `skip` or `keyGenerator`
   *  that threw, a BanHammer that rejected): the request goes on (fail open) and this is told.
   *  @default a process warning, once per kind of failure */
  onError?: (error: unknown, req: Req) => void;
  /**
   * Told of every decision the guard made, with its metric and how long it took from the
   * request's arrival in `admit` to the verdict (ns): for metrics (a latency histogram,
   * decisions by result). Called on the request's path, so keep it cheap; a throw is reported
   * like any failure inside the guard (`onError`). Without it the guard reads no clock.
   */
  onVerdict?: (verdict: Verdict, metric: string | null, durationNs: number) => void;
  /** Status of a refusal. @default 429 */
  statusCode?: number;
  /** The `message` of the default refusal body. @default 'Too many requests, try again later.' */
  message?: string;
}

/** What `admit` decides: go on (with the token, for `finished`), or a refusal to send. */
export type Admission =
  | { readonly allowed: true; readonly token: string | undefined; readonly headers: HeaderList }
  | { readonly allowed: false; readonly token: string; readonly refusal: Refusal };

/** Response headers as name/value pairs (lower-case names). */
export type HeaderList = readonly (readonly [string, string])[];

const NO_HEADERS: HeaderList = Object.freeze([]);
const SKIPPED: Admission = Object.freeze({
  allowed: true,
  token: undefined,
  headers: NO_HEADERS,
});
const DEFAULT_MESSAGE = 'Too many requests, try again later.';
const GUARD_KEYS: readonly string[] = [
  'bans',
  'banHammer',
  'store',
  'allowList',
  'denyList',
  'metric',
  'countAfter',
  'trustProxy',
  'ipv6Subnet',
  'keyGenerator',
  'tracker',
  'counter',
  'headers',
  'skip',
  'onRefused',
  'onError',
  'onVerdict',
  'statusCode',
  'message',
] satisfies (keyof GuardOptions<unknown, unknown>)[];

/** Per metric, its RateLimit fields and which policy each threshold is (−1: shadow). */
interface MetricFields {
  readonly fields: RateLimitFields;
  readonly policyOf: readonly number[];
}

export class Guard<Req, Res> {
  readonly banHammer: BanHammer<boolean>;
  readonly tracker: IpTracker | undefined;
  readonly counter: HitCounter | undefined;
  /** Calls that failed inside the guard (see `onError`). */
  errors = 0;

  readonly #path: string;
  readonly #clients: ClientAddress;
  readonly #metric: string | null | ((req: Req) => string | null);
  readonly #countAfter: ((req: Req, res: Res) => string | null | undefined) | undefined;
  readonly #keyGenerator: ((req: Req) => string | undefined) | undefined;
  readonly #skip: ((req: Req) => boolean) | undefined;
  readonly #onRefused: ((req: Req, res: Res, refusal: Refusal) => void) | undefined;
  readonly #onError: ((error: unknown, req: Req) => void) | undefined;
  readonly #onVerdict:
    | ((verdict: Verdict, metric: string | null, durationNs: number) => void)
    | undefined;
  readonly #headers: HeadersMode | false;
  readonly #fields = new Map<string, MetricFields>();
  readonly #warned = new Set<string>();
  /** Whether the BanHammer is the guard's own (made from `bans`), which `close` closes. */
  readonly #ownsBanHammer: boolean;
  /** Refusal status and the default body's message. */
  readonly statusCode: number;
  readonly message: string;

  /**
   * Throws `ConfigError` naming the option (`<path>.<option>`) for anything it cannot use,
   * an option it does not know included (`adapterKeys`: the adapter's own).
   */
  constructor(options: GuardOptions<Req, Res>, path: string, adapterKeys: readonly string[] = []) {
    this.#path = path;
    const given = optionsObject(path, options);
    for (const key of Object.keys(given)) {
      if (!GUARD_KEYS.includes(key) && !adapterKeys.includes(key)) {
        throw new ConfigError(
          `${path}.${key}`,
          `is not an option (the options: ${[...GUARD_KEYS, ...adapterKeys].join(', ')})`,
        );
      }
    }
    // Reads go through `optionsObject`'s guard: a getter that throws is a ConfigError.
    const read = <K extends keyof GuardOptions<Req, Res>>(key: K) => given[key];

    this.#ownsBanHammer = read('banHammer') === undefined;
    this.banHammer = banHammerOf(path, read('bans'), read('banHammer'), {
      store: read('store'),
      allowList: read('allowList'),
      denyList: read('denyList'),
      headers: read('headers'),
    });
    this.#headers = headersOption(`${path}.headers`, read('headers'));
    if (this.#headers === 'all' && !this.banHammer.reportsQuota) {
      throw new ConfigError(
        `${path}.headers`,
        "'all' needs the remaining quota of every decision: make the BanHammer with { quota: true }, or pass bans instead",
      );
    }
    this.#clients = new ClientAddress(
      { trustProxy: read('trustProxy'), ipv6Subnet: read('ipv6Subnet') },
      path,
    );
    this.#metric = this.#metricOption(read('metric'));
    this.#countAfter = optionalFunction(
      `${path}.countAfter`,
      read('countAfter'),
      '(req, res) => string | null',
    );
    this.#keyGenerator = optionalFunction(
      `${path}.keyGenerator`,
      read('keyGenerator'),
      '(req) => string',
    );
    this.#skip = optionalFunction(`${path}.skip`, read('skip'), '(req) => boolean');
    this.#onRefused = optionalFunction(
      `${path}.onRefused`,
      read('onRefused'),
      '(req, res, refusal) => void',
    );
    this.#onError = optionalFunction(`${path}.onError`, read('onError'), '(error, req) => void');
    this.#onVerdict = optionalFunction(
      `${path}.onVerdict`,
      read('onVerdict'),
      '(verdict, metric, durationNs) => void',
    );
    this.tracker = engineOption(
      `${path}.tracker`,
      read('tracker'),
      IpTracker,
      () => new IpTracker(),
    );
    this.counter = engineOption(
      `${path}.counter`,
      read('counter'),
      HitCounter,
      () => new HitCounter(),
    );
    const statusCode = read('statusCode') ?? 429;
    if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599) {
      throw new ConfigError(
        `${path}.statusCode`,
        `must be an HTTP error status from 400 to 599, got ${quoteInput(statusCode)}`,
      );
    }
    this.statusCode = statusCode;
    const message = read('message') ?? DEFAULT_MESSAGE;
    if (typeof message !== 'string') {
      throw new ConfigError(`${path}.message`, `must be a string, got ${quoteInput(message)}`);
    }
    this.message = message;
    for (const name of this.banHammer.metrics) this.#fields.set(name, this.#fieldsOf(name));
  }

  /**
   * Decides one request from its socket address and X-Forwarded-For: at once when the
   * BanHammer can (the memory store, a token in the deny cache), else through a promise.
   * `route`, when the framework knows the route template before the handler runs, is fed to
   * the hit counter now (else give it to `finished`). Never throws or rejects: a failure
   * inside goes to `onError` and the request goes on.
   */
  admit(
    req: Req,
    remoteAddress: string | undefined,
    forwardedFor: string | readonly string[] | undefined,
    route?: string,
  ): Admission | Promise<Admission> {
    let metric: string | null = null;
    let token: string | undefined;
    // Read only for an observer: the guard without one reads no clock.
    const started = this.#onVerdict === undefined ? 0 : performance.now();
    try {
      if (this.#skip !== undefined && this.#skip(req) === true) return SKIPPED;
      const address = this.#clients.resolve(remoteAddress, forwardedFor);
      if (address !== undefined && this.tracker !== undefined) {
        // The tracker counts hosts: the whole address, not the token's IPv6 prefix.
        this.tracker.requestHandled(
          this.#clients.family === 4 ? address : formatIPv6(this.#clients.words),
        );
      }
      if (route !== undefined) this.counter?.record(route);
      token = this.#keyGenerator === undefined ? address : (this.#keyGenerator(req) ?? address);
      // No address to hold a request to (a socket already gone): nothing to decide.
      if (token === undefined) return SKIPPED;
      metric = typeof this.#metric === 'function' ? this.#metric(req) : this.#metric;
      const verdict = this.banHammer.decideSync(token, metric);
      if (verdict !== undefined) {
        if (this.#onVerdict !== undefined) this.#observe(req, verdict, metric, started);
        return this.#admission(token, metric, verdict);
      }
    } catch (error) {
      return this.#unguarded(error, req, token);
    }
    const decided = token;
    return this.banHammer.decide(decided, metric).then(
      (verdict) => {
        if (this.#onVerdict !== undefined) this.#observe(req, verdict, metric, started);
        return this.#admission(decided, metric, verdict);
      },
      (error: unknown) => this.#unguarded(error, req, decided),
    );
  }

  /**
   * The response to `req` has finished: the hit counter gets its route template (`route`,
   * when `admit` did not have it) and `countAfter` its outcome. Never throws.
   */
  finished(req: Req, res: Res, token: string | undefined, route?: string): void {
    try {
      if (route !== undefined) this.counter?.record(route);
      if (this.#countAfter === undefined || token === undefined) return;
      const metric = this.#countAfter(req, res);
      if (metric === null || metric === undefined) return;
      this.banHammer.incr(token, metric).catch((error: unknown) => this.#failed(error, req));
    } catch (error) {
      this.#failed(error, req);
    }
  }

  /** Whether `finished` has anything to do, for an adapter that gives the route to `admit`
   *  (`routeEarly`) or to `finished`: it skips its response hook otherwise. */
  watchesResponses(routeEarly: boolean): boolean {
    return this.#countAfter !== undefined || (!routeEarly && this.counter !== undefined);
  }

  /** Closes the BanHammer the guard made from `bans` (and so its store); one given as
   *  `banHammer` is yours to close. */
  async close(): Promise<void> {
    if (this.#ownsBanHammer) await this.banHammer.close();
  }

  #observe(req: Req, verdict: Verdict, metric: string | null, started: number): void {
    try {
      this.#onVerdict!(verdict, metric, Math.round((performance.now() - started) * 1e6));
    } catch (error) {
      this.#failed(error, req);
    }
  }

  #admission(token: string, metric: string | null, verdict: Verdict): Admission {
    if (verdict.allowed)
      return { allowed: true, token, headers: this.#passHeaders(metric, verdict) };
    return { allowed: false, token, refusal: this.#refusal(token, metric, verdict) };
  }

  #unguarded(error: unknown, req: Req, token: string | undefined): Admission {
    this.#failed(error, req);
    return { allowed: true, token, headers: NO_HEADERS };
  }

  /** Sends a refusal: `onRefused`, or the default JSON body. The status and headers must
   *  already be set by the adapter. */
  refuse(req: Req, res: Res, refusal: Refusal, sendJson: (body: unknown) => void): void {
    if (this.#onRefused === undefined) {
      sendJson({
        error: 'too_many_requests',
        message: this.message,
        retryAfter: refusal.retryAfter,
      });
      return;
    }
    try {
      this.#onRefused(req, res, refusal);
    } catch (error) {
      this.#failed(error, req);
      sendJson({
        error: 'too_many_requests',
        message: this.message,
        retryAfter: refusal.retryAfter,
      });
    }
  }

  #refusal(token: string, metric: string | null, verdict: Verdict): Refusal {
    const retryAfter = retryAfterSeconds(verdict.retryAfterMs);
    const headers: Record<string, string> = {};
    if (retryAfter > 0) headers['retry-after'] = String(retryAfter);
    const fields = metric === null ? undefined : this.#fields.get(metric);
    if (this.#headers !== false && fields !== undefined && fields.fields.policy !== undefined) {
      headers['ratelimit-policy'] = fields.fields.policy;
      const policy =
        // Without a quota, the metric's first enforcing threshold.
        verdict.quota === undefined ? 0 : fields.policyOf[verdict.quota.threshold]!;
      headers.ratelimit = fields.fields.limit(policy, 0, retryAfter);
    }
    return { token, metric, retryAfter, verdict, headers };
  }

  #passHeaders(metric: string | null, verdict: Verdict): HeaderList {
    if (this.#headers !== 'all' || metric === null || verdict.quota === undefined)
      return NO_HEADERS;
    const fields = this.#fields.get(metric)!;
    const quota = verdict.quota;
    return [
      ['ratelimit-policy', fields.fields.policy!],
      [
        'ratelimit',
        fields.fields.limit(
          fields.policyOf[quota.threshold]!,
          quota.remaining,
          quota.resetMs / 1000,
        ),
      ],
    ];
  }

  #fieldsOf(metric: string): MetricFields {
    const policies: { name: string; quota: number; windowSeconds: number }[] = [];
    const policyOf: number[] = [];
    this.banHammer.thresholds(metric)!.forEach((threshold, i) => {
      if (threshold.shadow) {
        policyOf.push(-1);
        return;
      }
      policyOf.push(policies.length);
      policies.push({
        name: policyName(metric, i),
        quota: threshold.limit,
        windowSeconds: threshold.windowSeconds,
      });
    });
    return {
      fields: new RateLimitFields(policies, `${this.#path}.headers`),
      policyOf,
    };
  }

  #metricOption(value: unknown): string | null | ((req: Req) => string | null) {
    if (value === undefined) value = 'request';
    if (value === null || typeof value === 'function') {
      return value as null | ((req: Req) => string | null);
    }
    if (typeof value !== 'string' || !this.banHammer.metrics.includes(value)) {
      const known = this.banHammer.metrics.map((name) => quoteInput(name)).join(', ');
      throw new ConfigError(
        `${this.#path}.metric`,
        `must be a configured metric (${known}), a function of the request or null, got ${quoteInput(value)}`,
      );
    }
    return value;
  }

  #failed(error: unknown, req: Req): void {
    this.errors++;
    if (this.#onError !== undefined) {
      try {
        this.#onError(error, req);
        return;
      } catch {
        // An onError that throws is reported below, like a failure with no onError.
      }
    }
    const kind = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (this.#warned.has(kind) || this.#warned.size >= 100) return;
    this.#warned.add(kind);
    process.emitWarning(
      `${this.#path}: a request went on unguarded after a failure inside the guard: ${kind}`,
      { code: 'HITWARDEN_GUARD_ERROR' },
    );
  }
}

function banHammerOf(
  path: string,
  bans: unknown,
  given: unknown,
  options: { store: unknown; allowList: unknown; denyList: unknown; headers: unknown },
): BanHammer<boolean> {
  if (given !== undefined) {
    if (!(given instanceof BanHammer)) {
      throw new ConfigError(`${path}.banHammer`, `must be a BanHammer, got ${quoteInput(given)}`);
    }
    if (bans !== undefined) {
      throw new ConfigError(`${path}.bans`, 'give bans or banHammer, not both');
    }
    for (const key of ['store', 'allowList', 'denyList'] as const) {
      if (options[key] !== undefined) {
        throw new ConfigError(
          `${path}.${key}`,
          'belongs to the BanHammer: with banHammer given, set it when making the BanHammer',
        );
      }
    }
    return given;
  }
  if (bans === undefined) {
    throw new ConfigError(path, 'needs bans (a bans configuration) or banHammer (a BanHammer)');
  }
  const made: BanHammerOptions<boolean> = { quota: options.headers === 'all' };
  if (options.store !== undefined) made.store = options.store as Store;
  if (options.allowList !== undefined) made.allowList = options.allowList as Iterable<string>;
  if (options.denyList !== undefined) made.denyList = options.denyList as Iterable<string>;
  // Its own errors name `BanHammer.<option>` and `bans.<path>`: both point at the option.
  return new BanHammer(bans as BansConfig, made);
}

function headersOption(path: string, value: unknown): HeadersMode | false {
  if (value === false) return false;
  return choiceOption<HeadersMode>(path, value, 'refusals', ['refusals', 'all']);
}

function optionalFunction<F extends (...args: never[]) => unknown>(
  path: string,
  value: unknown,
  shape: string,
): F | undefined {
  if (value === undefined) return undefined;
  return functionOption<F>(path, value, value as F, shape);
}

function engineOption<T>(
  path: string,
  value: unknown,
  type: abstract new (...args: never[]) => T,
  make: () => T,
): T | undefined {
  if (value === false) return undefined;
  if (value === undefined) return make();
  if (!(value instanceof type)) {
    throw new ConfigError(path, `must be a ${type.name} or false, got ${quoteInput(value)}`);
  }
  return value;
}
