import { ConfigError } from '../errors.js';
import { numberOption, optionsObject } from '../options.js';

/** Most buckets a bucketed strategy keeps per key: beyond this the memory per key (and the cost
 *  of a long query) stops being "a few counters" and a SlidingLog or a coarser bucket fits. */
export const MAX_BUCKETS = 1 << 16;

/**
 * Most keys a HitCounter may hold. The key → slot `Map` is V8's: it throws a raw `RangeError`
 * once its table would pass 2^24 entries, and deleted entries count until a rehash, which only
 * happens in place while at most half the table is live. Below 2^23 live keys, deleting and
 * adding keys forever never reaches the limit (measured on Node 20: at 2^23 + 1,000 live keys
 * a churn of deletes and adds fails after 8.4M of them, at 2^23 it never does).
 */
export const MAX_KEYS = 2 ** 23;

/** Longest span a strategy may keep, in seconds (366 days, as the BanHammer's): past it the
 *  counter would hold more history than any rate question needs. */
export const MAX_SPAN_SECONDS = 366 * 86_400;

/** Every span option of a strategy: at least a millisecond (the counter's resolution). */
export const SPAN_SECONDS = { min: 0.001, max: MAX_SPAN_SECONDS, unit: 'seconds' } as const;

/** A span option that has no default: refused when left out, read by `numberOption` else. */
export function requiredSpan(path: string, value: unknown): number {
  if (value === undefined) {
    throw new ConfigError(
      path,
      `is required: a number of seconds from 0.001 to ${MAX_SPAN_SECONDS}`,
    );
  }
  return numberOption(path, value, 0, SPAN_SECONDS);
}

/** How many buckets of `bucketSeconds` a query of up to `maxWindowSeconds` can touch: the
 *  ones it covers plus the partly covered one at its start. */
export function bucketCount(path: string, bucketSeconds: number, maxWindowSeconds: number): number {
  const count = Math.ceil(maxWindowSeconds / bucketSeconds) + 1;
  if (count > MAX_BUCKETS) {
    throw new ConfigError(
      path,
      `maxWindowSeconds / windowSeconds must stay below ${MAX_BUCKETS}, got ${count - 1} buckets`,
    );
  }
  return count;
}

export interface BucketSpans {
  windowSeconds: number;
  maxWindowSeconds: number;
  /** Buckets per key: see {@link bucketCount}. */
  buckets: number;
}

/** Reads a bucketed strategy's options object, its `windowSeconds` (required unless
 *  `defaults.windowSeconds`) and `maxWindowSeconds` (which defaults to `defaults.windows`
 *  buckets); `strategy` names it in error paths. */
export function bucketSpans(
  strategy: string,
  given: { windowSeconds?: unknown; maxWindowSeconds?: unknown } | undefined,
  defaults: { windowSeconds?: number; windows: number },
): BucketSpans {
  const options = optionsObject(strategy, given);
  const windowPath = `${strategy}.windowSeconds`;
  const windowSeconds =
    defaults.windowSeconds === undefined
      ? requiredSpan(windowPath, options.windowSeconds)
      : numberOption(windowPath, options.windowSeconds, defaults.windowSeconds, SPAN_SECONDS);
  const maxPath = `${strategy}.maxWindowSeconds`;
  const maxWindowSeconds = numberOption(
    maxPath,
    options.maxWindowSeconds,
    Math.min(defaults.windows * windowSeconds, MAX_SPAN_SECONDS),
    SPAN_SECONDS,
  );
  const buckets = bucketCount(maxPath, windowSeconds, maxWindowSeconds);
  return { windowSeconds, maxWindowSeconds, buckets };
}

type Growable = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

/** A copy of `array` at `length` elements: the old contents first, zeros after. */
export function grown<T extends Growable>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}
