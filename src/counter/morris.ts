import { ConfigError, quoteInput } from '../errors.js';
import { functionOption, numberOption, optionsObject } from '../options.js';
import { BucketRing } from './bucket-ring.js';
import { bucketSpans } from './options.js';
import type { CountingStrategy, StrategyState } from './strategy.js';

export interface MorrisOptions {
  /**
   * The counter's base `a > 1`. A bucket holds an exponent `X`, bumped with probability
   * `a^-X`; it stands for `(a^X − 1) / (a − 1)` hits. That estimate is unbiased with variance
   * `(a − 1) · n(n − 1) / 2` after `n` hits: relative standard deviation ≈ √((a − 1) / 2),
   * about 71% for 2, 22% for 1.1, 7% for 1.01. A smaller base costs more bits: one byte per
   * bucket down to about 1.08, two below (to about 1.0002).
   * @default 2
   */
  base?: number;
  /** Width of one bucket, in seconds (epoch-aligned). @default 60 */
  windowSeconds?: number;
  /** The longest span a query may ask for, in seconds. @default 60 × windowSeconds */
  maxWindowSeconds?: number;
  /** Uniform random numbers in [0, 1), e.g. a seeded generator for reproducible runs.
   *  @default Math.random */
  random?: () => number;
}

/** Largest estimate worth representing: past this, doubles no longer count single hits. */
const MAX_ESTIMATE = 2 ** 53;
/** Largest base: beyond it one bump stands for so many hits that the estimate says little
 *  (relative standard deviation ≈ √((a − 1) / 2), 22 times the count at 1000). */
const MAX_BASE = 1000;
/** Smallest top estimate a base must reach within 16-bit exponents to be useful. */
const MIN_RANGE = 2 ** 32;

/**
 * Morris's approximate counter in time buckets: FixedWindow's semantics (a query sums the
 * buckets from the one holding `now − lastSeconds` on) with a few bits per bucket instead of
 * a 32-bit count. Each bucket's estimate is unbiased with variance `(a − 1)·n(n − 1)/2`;
 * buckets are independent, so a query's variance is the sum over the buckets it reads.
 * Exponents saturate at the top of their range (≥ 2^32 hits per bucket).
 */
export class Morris implements CountingStrategy {
  readonly kind = 'morris';
  readonly params: Readonly<{ base: number; windowSeconds: number; maxWindowSeconds: number }>;
  readonly maxWindowSeconds: number;
  readonly retentionSeconds: number;
  readonly #buckets: number;
  readonly #random: () => number;
  /** `a^-X` and `(a^X − 1)/(a − 1)` for every exponent `X` a cell may hold. */
  readonly #chance: Float64Array;
  readonly #estimate: Float64Array;
  readonly #wide: boolean;

  constructor(given?: MorrisOptions) {
    const options = optionsObject('Morris', given);
    const base = numberOption('Morris.base', options.base, 2, { above: 1, max: MAX_BASE });
    const { windowSeconds, maxWindowSeconds, buckets } = bucketSpans('Morris', options, {
      windowSeconds: 60,
      windows: 60,
    });
    this.#buckets = buckets;
    this.#random = functionOption(
      'Morris.random',
      options.random,
      Math.random,
      'returning numbers in [0, 1)',
    );

    const estimate = (exponent: number) => (base ** exponent - 1) / (base - 1);
    this.#wide = estimate(0xff) < MIN_RANGE;
    let top = this.#wide ? 0xffff : 0xff;
    if (estimate(top) < MIN_RANGE) {
      throw new ConfigError(
        'Morris.base',
        `${base} is too close to 1: 16-bit exponents would top out at ${Math.round(estimate(top))} hits`,
      );
    }
    while (top > 1 && estimate(top - 1) >= MAX_ESTIMATE) top--;
    this.#chance = new Float64Array(top + 1);
    this.#estimate = new Float64Array(top + 1);
    for (let exponent = 0; exponent <= top; exponent++) {
      this.#chance[exponent] = exponent === top ? 0 : base ** -exponent;
      this.#estimate[exponent] = estimate(exponent);
    }

    this.params = Object.freeze({ base, windowSeconds, maxWindowSeconds });
    this.maxWindowSeconds = maxWindowSeconds;
    this.retentionSeconds = maxWindowSeconds + windowSeconds;
  }

  create(): StrategyState {
    const bucketMs = this.params.windowSeconds * 1000;
    return this.#wide
      ? new MorrisRing<Uint16Array>(bucketMs, this.#buckets, this.#tables(), Uint16Array)
      : new MorrisRing<Uint8Array>(bucketMs, this.#buckets, this.#tables(), Uint8Array);
  }

  #tables(): MorrisTables {
    return {
      integerEstimates: Number.isInteger(this.params.base),
      chance: this.#chance,
      estimate: this.#estimate,
      random: this.#random,
    };
  }
}

interface MorrisTables {
  readonly integerEstimates: boolean;
  readonly chance: Float64Array;
  readonly estimate: Float64Array;
  readonly random: () => number;
}

class MorrisRing<C extends Uint8Array | Uint16Array> extends BucketRing<C> {
  readonly #chance: Float64Array;
  readonly #estimate: Float64Array;
  readonly #random: () => number;
  readonly #cellType: new (
    length: number,
  ) => C;

  constructor(
    bucketMs: number,
    size: number,
    tables: MorrisTables,
    cellType: new (length: number) => C,
  ) {
    // With an integer base every estimate is an integer and ring totals are exact; otherwise
    // they are float sums that could drift, so queries add the buckets up instead.
    super(bucketMs, size, new cellType(0), tables.integerEstimates);
    this.#chance = tables.chance;
    this.#estimate = tables.estimate;
    this.#random = tables.random;
    this.#cellType = cellType;
  }

  protected allocate(length: number): C {
    return new this.#cellType(length);
  }

  protected bump(cell: number): number {
    const exponent = this.cells[cell]!;
    if (!(this.#draw() < this.#chance[exponent]!)) return 0;
    this.cells[cell] = exponent + 1;
    return this.#estimate[exponent + 1]! - this.#estimate[exponent]!;
  }

  /** The exponent standing for the cell's estimate plus `hits`: the one below that sum, or
   *  the one above with the probability that keeps the estimate unbiased. */
  protected add(cell: number, hits: number): number {
    const before = this.value(cell);
    const wanted = before + hits;
    const top = this.#estimate.length - 1;
    let low = this.cells[cell]!;
    let high = top;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.#estimate[middle]! <= wanted) low = middle;
      else high = middle - 1;
    }
    if (low < top) {
      const below = this.#estimate[low]!;
      const share = (wanted - below) / (this.#estimate[low + 1]! - below);
      if (this.#draw() < share) low++;
    }
    this.cells[cell] = low;
    return this.#estimate[low]! - before;
  }

  /** A number from `random`, checked: a user's generator returning anything else would make
   *  every estimate meaningless (or, compared, throw a TypeError for a symbol). */
  #draw(): number {
    const draw = this.#random();
    if (typeof draw !== 'number' || !(draw >= 0 && draw < 1)) {
      throw new ConfigError(
        'Morris.random',
        `must return numbers in [0, 1), returned ${quoteInput(draw)}`,
      );
    }
    return draw;
  }

  protected value(cell: number): number {
    return this.#estimate[this.cells[cell]!]!;
  }

  protected valid(content: number): boolean {
    return Number.isInteger(content) && content >= 0 && content < this.#estimate.length;
  }
}
