import { BucketRing } from './bucket-ring.js';
import { bucketSpans } from './options.js';
import type { CountingStrategy, StrategyState } from './strategy.js';

export interface FixedWindowOptions {
  /** Width of one bucket, in seconds: time is cut at multiples of it (epoch-aligned). */
  windowSeconds: number;
  /**
   * The longest span a query may ask for, in seconds. Each key keeps
   * `ceil(maxWindowSeconds / windowSeconds) + 1` buckets of 4 bytes.
   * @default 60 × windowSeconds
   */
  maxWindowSeconds?: number;
}

/** Counts saturate here rather than wrapping to zero. */
const MAX_COUNT = 0xffff_ffff;

/**
 * Time cut into epoch-aligned buckets of `windowSeconds`; a query sums every bucket from the
 * one that holds `now - lastSeconds` through the newest. It never undercounts; it overcounts
 * by the hits of that first bucket that precede the span — at most one bucket's worth.
 * O(1) record; a query reads the buckets inside the span or those outside it (the ring keeps
 * its total), whichever are fewer; fixed memory per key.
 */
export class FixedWindow implements CountingStrategy {
  readonly kind = 'fixed-window';
  readonly params: Readonly<{ windowSeconds: number; maxWindowSeconds: number }>;
  readonly maxWindowSeconds: number;
  readonly retentionSeconds: number;
  readonly #buckets: number;

  constructor(options: FixedWindowOptions) {
    const { windowSeconds, maxWindowSeconds, buckets } = bucketSpans('FixedWindow', options, {
      windows: 60,
    });
    this.#buckets = buckets;
    this.params = Object.freeze({ windowSeconds, maxWindowSeconds });
    this.maxWindowSeconds = maxWindowSeconds;
    this.retentionSeconds = maxWindowSeconds + windowSeconds;
  }

  create(): StrategyState {
    return new CountRing(this.params.windowSeconds * 1000, this.#buckets);
  }
}

/** Bucket rings holding plain hit counts; shared with {@link SlidingWindowCounter}. */
export class CountRing extends BucketRing<Uint32Array> {
  constructor(bucketMs: number, size: number) {
    super(bucketMs, size, new Uint32Array(0), true);
  }

  protected allocate(length: number): Uint32Array {
    return new Uint32Array(length);
  }

  protected bump(cell: number): number {
    const count = this.cells[cell]!;
    if (count === MAX_COUNT) return 0;
    this.cells[cell] = count + 1;
    return 1;
  }

  protected add(cell: number, hits: number): number {
    const count = this.cells[cell]!;
    const sum = Math.min(count + hits, MAX_COUNT);
    this.cells[cell] = sum;
    return sum - count;
  }

  protected value(cell: number): number {
    return this.cells[cell]!;
  }

  protected valid(content: number): boolean {
    return Number.isInteger(content) && content >= 0 && content <= MAX_COUNT;
  }
}
