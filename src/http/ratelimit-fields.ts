import { Buffer } from 'node:buffer';
import { ConfigError, quoteInput } from '../errors.js';

/*
 * The IETF RateLimit header fields, serialised from plain data: `RateLimit-Policy` (the
 * quotas, constant for a configuration) and `RateLimit` (where this client stands now), as
 * draft-ietf-httpapi-ratelimit-headers-11 defines them, in Structured Field syntax (RFC 9651):
 *
 *   RateLimit-Policy: "login_failed.0";q=10;w=3600, "login_failed.1";q=100;w=86400
 *   RateLimit: "login_failed.0";r=6;t=3600
 *
 * Both are Lists of Items whose bare item is a String naming the policy. A policy carries
 * q (quota, Integer ≥ 0), optionally qu (quota unit, String), w (window in seconds, Integer
 * ≥ 1) and pk (partition key, Byte Sequence), written in that order. A service limit carries
 * r (available quota, Integer ≥ 0), optionally t (seconds of the effective window, Integer
 * ≥ 0) and pk. Members are joined by ", " as RFC 9651 §4.1.1 serialises a List.
 *
 * Policy names: one policy per threshold of a metric, named `<metric>.<threshold index>`
 * (`login_failed.1` is `bans.login_failed.thresholds[1]`). A String may hold only printable
 * ASCII (0x20–0x7E, with `"` and `\` escaped by a backslash), and a metric name may hold
 * anything, so `policyName` percent-encodes the UTF-8 bytes of every other character, and `%`
 * itself: the mapping is reversible (decodeURIComponent of the part before the last `.`), so
 * two metrics never share a policy name, and the name stays readable for ASCII metrics. A
 * lone surrogate (not text) is encoded as U+FFFD, as TextEncoder does, so two metric names that
 * differ only in lone surrogates would share one.
 *
 * Validation happens where the data is set up (`RateLimitFields`, or each call of the free
 * functions): a bad name or quota is a `ConfigError` naming the field. Per response,
 * `RateLimitFields#limit` only formats two integers into a pre-quoted item.
 */

/** The draft these fields follow; quoted in docs/http-headers.md. */
export const RATELIMIT_DRAFT = 'draft-ietf-httpapi-ratelimit-headers-11';

/** The largest Integer a Structured Field can carry (RFC 9651 §3.3.1): 15 digits. */
export const SF_INTEGER_MAX = 999_999_999_999_999;

/** One quota policy: a threshold of a metric, as `RateLimit-Policy` advertises it. */
export interface QuotaPolicy {
  /** The policy's identifier: printable ASCII (`policyName` makes one from any metric). */
  readonly name: string;
  /** Quota units (requests, by default) allowed in the window: the threshold's `limit`. */
  readonly quota: number;
  /** The window, whole seconds ≥ 1. */
  readonly windowSeconds: number;
  /** The `qu` parameter, when the unit is not requests (`content-bytes`, …). */
  readonly unit?: string | undefined;
  /** The `pk` parameter: the partition key's bytes. */
  readonly partitionKey?: Uint8Array | undefined;
}

/** Where a client stands under one policy, as `RateLimit` reports it. */
export interface ServiceLimit {
  /** The policy's identifier, as in `QuotaPolicy.name`. */
  readonly policy: string;
  /** Quota left; a negative count (over the limit) is written as 0, a fraction rounded down. */
  readonly remaining: number;
  /** Seconds until the quota is available again; rounded up to whole seconds, ≥ 0. */
  readonly resetSeconds?: number | undefined;
  /** The `pk` parameter: the partition key's bytes. */
  readonly partitionKey?: Uint8Array | undefined;
}

const HEX = '0123456789ABCDEF';
const encoder = new TextEncoder();

/**
 * The policy name of threshold `threshold` of `metric`: `<metric>.<threshold>`, the metric's
 * characters outside printable ASCII (and `%`) percent-encoded as UTF-8, so any metric name
 * gives a valid, distinct String.
 *
 * ```ts
 * policyName('login_failed', 1); // 'login_failed.1'
 * policyName('connexión', 0); // 'connexi%C3%B3n.0'
 * ```
 */
export function policyName(metric: string, threshold: number): string {
  let name = '';
  let plainFrom = 0;
  for (let i = 0; i < metric.length; i++) {
    const c = metric.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x25) continue;
    name += metric.slice(plainFrom, i);
    // One code point at a time: a surrogate pair is one character of four UTF-8 bytes.
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < metric.length;
    const low = pair ? metric.charCodeAt(i + 1) : 0;
    const width = pair && low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
    for (const byte of encoder.encode(metric.slice(i, i + width))) {
      name += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
    }
    i += width - 1;
    plainFrom = i + 1;
  }
  return `${name}${metric.slice(plainFrom)}.${threshold}`;
}

/**
 * `value` as a Structured Field String (RFC 9651 §4.1.6): quoted, `"` and `\` escaped.
 * Throws `ConfigError` at `path` for a character a String cannot hold (outside 0x20–0x7E).
 */
export function serializeString(value: string, path = 'value'): string {
  if (typeof value !== 'string') {
    throw new ConfigError(path, `expected a string, got ${quoteInput(value)}`);
  }
  let out = '"';
  let plainFrom = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new ConfigError(
        path,
        `${quoteInput(value)} has a character a structured-field String cannot hold (only printable ASCII; name policies with policyName)`,
      );
    }
    if (c === 0x22 || c === 0x5c) {
      out += `${value.slice(plainFrom, i)}\\`;
      plainFrom = i;
    }
  }
  return `${out}${value.slice(plainFrom)}"`;
}

function integer(value: unknown, min: number, path: string): string {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < min ||
    value > SF_INTEGER_MAX
  ) {
    throw new ConfigError(
      path,
      `expected a whole number from ${min} to ${SF_INTEGER_MAX}, got ${quoteInput(value)}`,
    );
  }
  return String(value);
}

function byteSequence(value: unknown, path: string): string {
  if (!(value instanceof Uint8Array)) {
    throw new ConfigError(path, `expected a Uint8Array, got ${quoteInput(value)}`);
  }
  return `:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}:`;
}

/** One policy as a List member: `"name";q=…[;qu="…"];w=…[;pk=:…:]`. */
function policyItem(policy: QuotaPolicy, path: string): string {
  if (policy === null || typeof policy !== 'object') {
    throw new ConfigError(path, `expected a policy object, got ${quoteInput(policy)}`);
  }
  let item = `${serializeString(policy.name, `${path}.name`)};q=${integer(policy.quota, 0, `${path}.quota`)}`;
  if (policy.unit !== undefined) item += `;qu=${serializeString(policy.unit, `${path}.unit`)}`;
  item += `;w=${integer(policy.windowSeconds, 1, `${path}.windowSeconds`)}`;
  if (policy.partitionKey !== undefined) {
    item += `;pk=${byteSequence(policy.partitionKey, `${path}.partitionKey`)}`;
  }
  return item;
}

/** `remaining` as the `r` Integer: floored, negatives as 0, capped at the Integer maximum. */
function remainingValue(remaining: number, path: string): number {
  if (typeof remaining !== 'number' || Number.isNaN(remaining)) {
    throw new ConfigError(path, `expected a number, got ${quoteInput(remaining)}`);
  }
  return remaining <= 0 ? 0 : Math.min(Math.floor(remaining), SF_INTEGER_MAX);
}

/** `seconds` as the `t` Integer: rounded up, negatives as 0, capped at the Integer maximum. */
function resetValue(seconds: number, path: string): number {
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) {
    throw new ConfigError(path, `expected a number of seconds, got ${quoteInput(seconds)}`);
  }
  return seconds <= 0 ? 0 : Math.min(Math.ceil(seconds), SF_INTEGER_MAX);
}

/**
 * The `RateLimit-Policy` field value for these policies, or undefined for none (the field is
 * a non-empty List: with no policy, send no field).
 */
export function formatRateLimitPolicy(policies: readonly QuotaPolicy[]): string | undefined {
  if (policies.length === 0) return undefined;
  return policies.map((policy, i) => policyItem(policy, `RateLimit-Policy[${i}]`)).join(', ');
}

/** The `RateLimit` field value for these service limits, or undefined for none. */
export function formatRateLimit(limits: readonly ServiceLimit[]): string | undefined {
  if (limits.length === 0) return undefined;
  return limits
    .map((limit, i) => {
      const path = `RateLimit[${i}]`;
      let item = `${serializeString(limit.policy, `${path}.policy`)};r=${remainingValue(limit.remaining, `${path}.remaining`)}`;
      if (limit.resetSeconds !== undefined) {
        item += `;t=${resetValue(limit.resetSeconds, `${path}.resetSeconds`)}`;
      }
      if (limit.partitionKey !== undefined) {
        item += `;pk=${byteSequence(limit.partitionKey, `${path}.partitionKey`)}`;
      }
      return item;
    })
    .join(', ');
}

/**
 * The fields of one configuration, compiled once: `policy` is the whole `RateLimit-Policy`
 * value, and `limit(i, remaining, resetSeconds)` the `RateLimit` item of policy `i`, which
 * costs two integer formats and a concatenation per response.
 *
 * ```ts
 * const fields = new RateLimitFields([{ name: 'login_failed.0', quota: 10, windowSeconds: 60 }]);
 * fields.policy; // '"login_failed.0";q=10;w=60'
 * fields.limit(0, 3, 42.5); // '"login_failed.0";r=3;t=43'
 * ```
 */
export class RateLimitFields {
  /** The `RateLimit-Policy` value; undefined when there is no policy. */
  readonly policy: string | undefined;
  /** Each policy's identifier, serialised: the head of its `RateLimit` item. */
  readonly #quoted: string[];

  /** @param path How errors name the policies' owner, e.g. `hitwarden/express.headers`. */
  constructor(policies: readonly QuotaPolicy[], path = 'headers') {
    if (!Array.isArray(policies)) {
      throw new ConfigError(path, `expected an array of policies, got ${quoteInput(policies)}`);
    }
    const items = policies.map((policy, i) => policyItem(policy, `${path}.policies[${i}]`));
    const seen = new Set<string>();
    policies.forEach((policy, i) => {
      if (seen.has(policy.name)) {
        throw new ConfigError(
          `${path}.policies[${i}].name`,
          `${quoteInput(policy.name)} names two policies; a field must not repeat a policy`,
        );
      }
      seen.add(policy.name);
    });
    this.policy = items.length === 0 ? undefined : items.join(', ');
    this.#quoted = policies.map((policy) => serializeString(policy.name));
  }

  /** How many policies there are; `limit` takes an index below it. */
  get size(): number {
    return this.#quoted.length;
  }

  /** The `RateLimit` item of policy `index`: `"name";r=<remaining>;t=<resetSeconds>`. */
  limit(index: number, remaining: number, resetSeconds: number): string {
    const quoted = this.#quoted[index];
    if (quoted === undefined) {
      throw new ConfigError('index', `no policy ${quoteInput(index)} among ${this.#quoted.length}`);
    }
    return `${quoted};r=${remainingValue(remaining, 'remaining')};t=${resetValue(resetSeconds, 'resetSeconds')}`;
  }
}

/**
 * `Retry-After` in delay-seconds for a wait of `ms` milliseconds: whole seconds rounded up,
 * so a client that waits that long is never early — at least 1 for any positive wait, 0 for
 * none (or NaN), capped at `SF_INTEGER_MAX` (a ban with no end).
 */
export function retryAfterSeconds(ms: number): number {
  if (!(ms > 0)) return 0;
  // max(1, …): a wait below 5e-321 ms divides to 0.
  return Math.max(1, Math.min(Math.ceil(ms / 1000), SF_INTEGER_MAX));
}
