/**
 * A small seeded pseudo-random generator for synthetic traffic: the same seed gives the same
 * stream on every machine and every Node version, which is what lets a benchmark feed
 * identical input to contenders that run in separate processes, and lets `gen-log` write the
 * same file twice.
 *
 * The generator is SFC32 (Chris Doty-Humphrey's "small fast chaotic" design: 128 bits of
 * state, 32-bit output, passes PractRand far beyond what a traffic generator draws). Its
 * state is filled from the seed by a SplitMix-style sequence so that nearby seeds give
 * unrelated streams. Not for anything that must be unpredictable.
 */

/** Anything that hands out uniform numbers; the samplers take this, not a concrete class. */
export interface RandomSource {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number;
}

/** Golden-ratio increment of the seeding sequence (odd, so the sequence has period 2^32). */
const WEYL_STEP = 0x9e3779b9;

/**
 * One step of a SplitMix-style sequence: a Weyl counter pushed through a 32-bit finaliser.
 * Returns the output; the caller keeps the counter.
 */
export function splitMix32(counter: number): number {
  let z = counter | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Turns any integer seed (also negative or past 2^32) into 32 bits. */
function seedWord(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const whole = Math.trunc(seed);
  // Fold the high part in so that seeds 2^32 apart still differ.
  return (whole ^ Math.trunc(whole / 0x1_0000_0000)) | 0;
}

/** SFC32: seeded, fast, deterministic; see the module comment. */
export class Sfc32 implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let counter = seedWord(seed);
    const next = () => {
      counter = (counter + WEYL_STEP) | 0;
      return splitMix32(counter) | 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1; // the counter word; any start is fine, 1 is the customary one
    // Let the chaotic part mix before the first output is used.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const sum = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + sum) | 0;
    return sum >>> 0;
  }

  nextFloat(): number {
    // 27 high bits and 26 low bits make a 53-bit integer, scaled into [0, 1).
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 0x400_0000 + low) / 0x20_0000_0000_0000;
  }

  /** A uniform integer in [0, bound), bound ≤ 2^32, without modulo bias. */
  nextBelow(bound: number): number {
    if (!(bound >= 1 && bound <= 0x1_0000_0000) || !Number.isInteger(bound)) {
      throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    }
    // Reject the top sliver that would make some results one more likely than others.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % bound;
    }
  }
}
