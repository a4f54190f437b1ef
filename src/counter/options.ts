import { ConfigError } from '../errors.js';

/** Most buckets a bucketed strategy keeps per key: beyond this the memory per key (and the cost
 *  of a long query) stops being "a few counters" and a SlidingLog or a coarser bucket fits. */
export const MAX_BUCKETS = 1 << 16;

/** Reads a span option in seconds: a finite number, at least one millisecond. */
export function spanOption(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0.001) {
    throw new ConfigError(
      path,
      `must be a finite number of seconds ≥ 0.001, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
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

/** Reads a bucketed strategy's `windowSeconds` and `maxWindowSeconds` (which defaults to
 *  `defaultWindows` buckets); `strategy` names it in error paths. */
export function bucketSpans(
  strategy: string,
  options: { windowSeconds?: unknown; maxWindowSeconds?: unknown } | undefined,
  defaults: { windowSeconds?: number; windows: number },
): BucketSpans {
  const given = options?.windowSeconds ?? defaults.windowSeconds;
  const windowSeconds = spanOption(`${strategy}.windowSeconds`, given);
  const maxWindowSeconds =
    options?.maxWindowSeconds === undefined
      ? defaults.windows * windowSeconds
      : spanOption(`${strategy}.maxWindowSeconds`, options.maxWindowSeconds);
  const buckets = bucketCount(`${strategy}.maxWindowSeconds`, windowSeconds, maxWindowSeconds);
  return { windowSeconds, maxWindowSeconds, buckets };
}

type Growable = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** A copy of `array` at `length` elements: the old contents first, zeros after. */
export function grown<T extends Growable>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}
