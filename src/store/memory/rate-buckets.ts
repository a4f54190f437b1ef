import { RATE_BUCKETS, RATE_WINDOWS_SECONDS } from '../rates.js';
import { sharedFloat64, sharedInt32, sharedUint32 } from './shared-arrays.js';

/*
 * Bucketed rate counters for the tokens whose ring no longer holds their whole last hour
 * (busy tokens): per rate window, 60 buckets of window/60 and a running sum, so a rate is read
 * in O(1) and an event is added in O(1) amortised. See `store/rates.ts` for the bound.
 *
 * Blocks live in shared typed arrays with a free stack, like the rings.
 */

const WINDOWS = RATE_WINDOWS_SECONDS.length;
const PER_BLOCK = WINDOWS * RATE_BUCKETS;
const BUCKET_MS = RATE_WINDOWS_SECONDS.map((seconds) => (seconds * 1000) / RATE_BUCKETS);
const INITIAL_BLOCKS = 16;

export class RateBuckets {
  #counts = sharedUint32(0);
  /** Per block and window: the index (time / bucket width) of the newest bucket. */
  #epoch = sharedFloat64(0);
  /** Per block and window: the sum of its 60 buckets. */
  #sums = sharedFloat64(0);
  #capacity = 0;
  #used = 0;
  #free = sharedInt32(0);
  #freeTop = 0;

  /** A zeroed block. */
  alloc(): number {
    let block: number;
    if (this.#freeTop > 0) block = this.#free[--this.#freeTop]!;
    else {
      if (this.#used === this.#capacity) this.#grow();
      block = this.#used++;
    }
    this.#counts.fill(0, block * PER_BLOCK, (block + 1) * PER_BLOCK);
    this.#epoch.fill(0, block * WINDOWS, (block + 1) * WINDOWS);
    this.#sums.fill(0, block * WINDOWS, (block + 1) * WINDOWS);
    return block;
  }

  free(block: number): void {
    if (this.#freeTop === this.#free.length) {
      const bigger = sharedInt32(Math.max(INITIAL_BLOCKS, this.#free.length * 2));
      bigger.set(this.#free);
      this.#free = bigger;
    }
    this.#free[this.#freeTop++] = block;
  }

  /** Counts one event at `at` (epoch ms, never before an earlier `add` or `rate` time). */
  add(block: number, at: number): void {
    const counts = this.#counts;
    const base = block * PER_BLOCK;
    // The three windows always move together (from the same time), so when `at` falls in the
    // newest 1 s bucket it also falls in the newest 10 s and 60 s buckets.
    if (Math.floor(at / BUCKET_MS[0]!) !== this.#epoch[block * WINDOWS]) this.#advance(block, at);
    for (let w = 0; w < WINDOWS; w++) {
      counts[base + w * RATE_BUCKETS + (this.#epoch[block * WINDOWS + w]! % RATE_BUCKETS)]!++;
      this.#sums[block * WINDOWS + w]!++;
    }
  }

  /** Events of window `w` (0: 1m, 1: 10m, 2: 60m) in the 60 buckets ending at `now`. */
  rate(block: number, w: number, now: number): number {
    this.#advance(block, now);
    return this.#sums[block * WINDOWS + w]!;
  }

  get bytes(): number {
    return (
      this.#counts.byteLength +
      this.#epoch.byteLength +
      this.#sums.byteLength +
      this.#free.byteLength
    );
  }

  /** Moves every window of `block` so its newest bucket holds `now`, zeroing the ones passed. */
  #advance(block: number, now: number): void {
    for (let w = 0; w < WINDOWS; w++) {
      const index = Math.floor(now / BUCKET_MS[w]!);
      const epochAt = block * WINDOWS + w;
      const epoch = this.#epoch[epochAt]!;
      if (index <= epoch) continue;
      const base = block * PER_BLOCK + w * RATE_BUCKETS;
      const steps = Math.min(index - epoch, RATE_BUCKETS);
      let dropped = 0;
      for (let k = 1; k <= steps; k++) {
        const at = base + ((epoch + k) % RATE_BUCKETS);
        dropped += this.#counts[at]!;
        this.#counts[at] = 0;
      }
      this.#sums[epochAt]! -= dropped;
      this.#epoch[epochAt] = index;
    }
  }

  #grow(): void {
    const blocks = Math.max(INITIAL_BLOCKS, this.#capacity * 2);
    const counts = sharedUint32(blocks * PER_BLOCK);
    counts.set(this.#counts);
    const epoch = sharedFloat64(blocks * WINDOWS);
    epoch.set(this.#epoch);
    const sums = sharedFloat64(blocks * WINDOWS);
    sums.set(this.#sums);
    this.#counts = counts;
    this.#epoch = epoch;
    this.#sums = sums;
    this.#capacity = blocks;
  }
}
