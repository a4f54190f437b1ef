import { CountRing } from './fixed-window.js';
import { bucketSpans } from './options.js';
import type { CountingStrategy, StrategyState } from './strategy.js';

export interface SlidingWindowCounterOptions {
  /** Width of one bucket, in seconds (epoch-aligned). */
  windowSeconds: number;
  /**
   * The longest span a query may ask for, in seconds. The default keeps the classic two
   * buckets (the current one and the one before); a longer reach keeps
   * `ceil(maxWindowSeconds / windowSeconds) + 1` buckets of 4 bytes per key.
   * @default windowSeconds
   */
  maxWindowSeconds?: number;
}

/**
 * The sliding-window counter: fixed buckets, but the bucket that the span only partly covers
 * is weighted by the fraction of it inside the span, as if its hits were spread evenly over
 * it (over its elapsed part, for the current bucket). With the default two buckets a query of
 * `windowSeconds` is the classic `previous × overlap + current`.
 *
 * Error bound: every bucket but that first one is counted exactly, so the estimate is off by
 * at most `max(θ, 1 − θ) × c` where `c` is the hits in the partly covered bucket and `θ` its
 * weight — never more than `c`. For steady traffic (evenly spaced hits) that is at most 2
 * hits whatever the rate. Estimates are fractional; round them if you need whole hits.
 */
export class SlidingWindowCounter implements CountingStrategy {
  readonly kind = 'sliding-window-counter';
  readonly params: Readonly<{ windowSeconds: number; maxWindowSeconds: number }>;
  readonly maxWindowSeconds: number;
  readonly retentionSeconds: number;
  readonly #buckets: number;

  constructor(options: SlidingWindowCounterOptions) {
    const { windowSeconds, maxWindowSeconds, buckets } = bucketSpans(
      'SlidingWindowCounter',
      options,
      { windows: 1 },
    );
    this.#buckets = buckets;
    this.params = Object.freeze({ windowSeconds, maxWindowSeconds });
    this.maxWindowSeconds = maxWindowSeconds;
    this.retentionSeconds = maxWindowSeconds + windowSeconds;
  }

  create(): StrategyState {
    return new WeightedRing(this.params.windowSeconds * 1000, this.#buckets);
  }
}

class WeightedRing extends CountRing {
  override query(slot: number, now: number, spanMs: number): number {
    const start = now - spanMs;
    const first = Math.floor(start / this.bucketMs);
    const partial = this.bucketValue(slot, first);
    const whole = this.sumFrom(slot, first + 1);
    if (partial === 0) return whole;
    let weight: number;
    if (first < Math.floor(now / this.bucketMs)) {
      weight = ((first + 1) * this.bucketMs - start) / this.bucketMs;
    } else {
      // The current bucket: its hits are spread over the part that has elapsed.
      const elapsed = now - first * this.bucketMs;
      weight = elapsed > 0 ? spanMs / elapsed : 0;
    }
    return whole + weight * partial;
  }
}
