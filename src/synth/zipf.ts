import { ConfigError } from '../errors.js';
import type { RandomSource } from './prng.js';

/*
 * Zipf(s) over ranks 1..n: P(k) = k^-s / Σ_{j=1..n} j^-s. Web traffic by client address is
 * close to s = 1: a handful of clients (crawlers, NAT gateways, attackers) send a large share
 * of the requests, and a long tail sends one or two each.
 *
 * Sampling is rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion to
 * generate variates from monotone discrete distributions", ACM TOMACS 6(3), 1996): O(1)
 * expected work per sample and O(1) memory for any n, where the textbook inverse-CDF method
 * needs an n-entry table (160 MB at n = 20M).
 *
 * The idea: the continuous hat h(x) = x^-s dominates the probabilities. Its integral
 * H(x) = ∫_1^x t^-s dt is inverted in closed form, so x = H⁻¹(u) for u uniform over
 * [H(1.5) − 1, H(n + 0.5)] follows the hat. Rank k owns the slice of u of width exactly
 * h(k) = k^-s that ends at H(k + 0.5); because h is convex that slice maps inside
 * (k − 0.5, k + 0.5], so rounding x and accepting u only in that slice gives each k
 * probability ∝ k^-s. Most samples are accepted by a cheap squeeze test (k − x ≤ squeeze)
 * before the exact slice test is needed, and rejections are rare (the hat wastes little area).
 */

/** log1p(t) / t, continuous at t = 0 (where it is 1). */
function log1pOverT(t: number): number {
  return Math.abs(t) > 1e-8 ? Math.log1p(t) / t : 1 - t / 2 + (t * t) / 3;
}

/** expm1(t) / t, continuous at t = 0 (where it is 1). */
function expm1OverT(t: number): number {
  return Math.abs(t) > 1e-8 ? Math.expm1(t) / t : 1 + t / 2 + (t * t) / 6;
}

/** Samples ranks 1..n with P(k) ∝ k^-exponent. */
export class ZipfSampler {
  /** Number of ranks. */
  readonly n: number;
  /** The exponent s. */
  readonly exponent: number;
  private readonly random: RandomSource;
  private readonly oneMinusS: number;
  private readonly lowU: number; // H(1.5) − 1
  private readonly highU: number; // H(n + 0.5)
  private readonly squeeze: number;

  /**
   * @param n number of ranks, an integer in [1, 2^53)
   * @param exponent s > 0; 1 is classic Zipf, larger is more skewed
   * @param random the source of uniform numbers (e.g. `new Sfc32(seed)`)
   */
  constructor(n: number, exponent: number, random: RandomSource) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new ConfigError('zipf.n', `must be an integer ≥ 1, got ${n}`);
    }
    if (!Number.isFinite(exponent) || exponent <= 0) {
      throw new ConfigError('zipf.exponent', `must be a finite number > 0, got ${exponent}`);
    }
    this.n = n;
    this.exponent = exponent;
    this.random = random;
    this.oneMinusS = 1 - exponent;
    this.lowU = this.hIntegral(1.5) - 1;
    this.highU = this.hIntegral(n + 0.5);
    this.squeeze = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  /** A rank in [1, n]. */
  sample(): number {
    for (;;) {
      // u runs from highU down towards lowU, so u = highU is possible and u = lowU is not.
      const u = this.highU + this.random.nextFloat() * (this.lowU - this.highU);
      const x = this.hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.squeeze || u >= this.hIntegral(k + 0.5) - this.h(k)) return k;
    }
  }

  /** The hat h(x) = x^-s. */
  private h(x: number): number {
    return Math.exp(-this.exponent * Math.log(x));
  }

  /** H(x) = ∫_1^x t^-s dt = (x^(1−s) − 1) / (1 − s), or log x when s = 1; written so that
   *  s near 1 loses no precision. */
  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return expm1OverT(this.oneMinusS * logX) * logX;
  }

  /** H⁻¹(y) = (1 + (1 − s)·y)^(1/(1−s)), or e^y when s = 1. */
  private hIntegralInverse(y: number): number {
    let t = y * this.oneMinusS;
    if (t < -1) t = -1; // rounding at the very end of the range; the true value is ≥ −1
    return Math.exp(log1pOverT(t) * y);
  }
}

/** The exact probability of rank k under Zipf(s) over 1..n (O(n): for tests and reports). */
export function zipfProbabilities(n: number, exponent: number): Float64Array {
  const p = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    const w = k ** -exponent;
    p[k - 1] = w;
    total += w;
  }
  for (let i = 0; i < n; i++) p[i] = p[i]! / total;
  return p;
}
