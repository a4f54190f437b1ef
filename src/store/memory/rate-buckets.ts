import { sharedFloat64, sharedInt32, sharedUint32 } from '../../shared-arrays.js';
import { RATE_BUCKETS, RATE_WINDOWS_SECONDS } from '../rates.js';

/*
 * Bucketed rate counters for the tokens whose ring no longer holds their whole last hour
 * (busy tokens): per rate window, 60 buckets of window/60 and a running sum, so a rate is read
 * in O(1) and an event is added in O(1) amortised. See `store/rates.ts` for the bound.
 *
 * A busy token adds an event on every decision, so `add` is on the hot path: while the event
 * falls in the newest bucket (all but one event a second for a busy token), it only compares
 * the time with when that bucket ends and bumps three counts at places kept as integers. The
 * divisions and float remainders that find a time's bucket run once a second per block.
 *
 * Blocks live in shared typed arrays with a free stack, like the rings.
 */

/** Rate windows per block. */
export const WINDOWS = RATE_WINDOWS_SECONDS.length;
/** Bucket counts per block. */
export const PER_BLOCK = WINDOWS * RATE_BUCKETS;
const BUCKET_MS = RATE_WINDOWS_SECONDS.map((seconds) => (seconds * 1000) / RATE_BUCKETS);
const INITIAL_BLOCKS = 16;

export class RateBuckets {
  #counts = sharedUint32(0);
  /** Per block and window: the index (time / bucket width) of the newest bucket. */
  #epoch = sharedFloat64(0);
  /** Per block and window: the sum of its 60 buckets. */
  #sums = sharedFloat64(0);
  /** Per block and window: where the newest bucket sits among the window's 60 (epoch mod 60). */
  #place = sharedInt32(0);
  /** Per block: when the newest bucket of the shortest window ends, in ms; the other windows'
   *  newest buckets end at the same time or later (their widths are multiples of its width). */
  #until = sharedFloat64(0);
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
    this.#place.fill(0, block * WINDOWS, (block + 1) * WINDOWS);
    this.#until[block] = 0;
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
    // The three windows always move together (from the same time), so when `at` falls in the
    // newest 1 s bucket it also falls in the newest 10 s and 60 s buckets.
    if (!(at < this.#until[block]!)) this.#advance(block, at);
    const counts = this.#counts;
    const sums = this.#sums;
    const place = this.#place;
    const base = block * PER_BLOCK;
    const at0 = block * WINDOWS;
    for (let w = 0; w < WINDOWS; w++) {
      counts[base + w * RATE_BUCKETS + place[at0 + w]!]!++;
      sums[at0 + w]!++;
    }
  }

  /** Events of window `w` (0: 1m, 1: 10m, 2: 60m) in the 60 buckets ending at `now`. */
  rate(block: number, w: number, now: number): number {
    this.#advance(block, now);
    return this.#sums[block * WINDOWS + w]!;
  }

  /**
   * The clock was corrected back to `now`: the buckets after the one holding `now` fold into
   * it, which becomes the newest, so the events counted there stay counted (as at `now`) and
   * the windows move on from `now` again instead of waiting for the wild time.
   */
  clampTo(block: number, now: number): void {
    for (let w = 0; w < WINDOWS; w++) {
      const epochAt = block * WINDOWS + w;
      const epoch = this.#epoch[epochAt]!;
      const target = Math.floor(now / BUCKET_MS[w]!);
      if (!(epoch > target)) continue;
      const base = block * PER_BLOCK + w * RATE_BUCKETS;
      const ahead = Math.min(epoch - target, RATE_BUCKETS);
      let moved = 0;
      for (let k = 0; k < ahead; k++) {
        const at = base + ((epoch - k) % RATE_BUCKETS);
        moved += this.#counts[at]!;
        this.#counts[at] = 0;
      }
      // The target's cell: its own when it was among the 60, else a cell just zeroed.
      this.#counts[base + (target % RATE_BUCKETS)]! += moved;
      this.#epoch[epochAt] = target;
      this.#place[epochAt] = target % RATE_BUCKETS;
    }
    this.#until[block] = (this.#epoch[block * WINDOWS]! + 1) * BUCKET_MS[0]!;
  }

  /**
   * Copies `block`'s bucket counts (`PER_BLOCK` of them) to `counts[countsAt ..]` and its
   * windows' newest bucket indices (`WINDOWS`) to `epochs[epochsAt ..]`: all a block is (the
   * sums, places and end time follow from them), in absolute time, for an export.
   */
  exportBlock(
    block: number,
    counts: Uint32Array,
    countsAt: number,
    epochs: Float64Array,
    epochsAt: number,
  ): void {
    counts.set(this.#counts.subarray(block * PER_BLOCK, (block + 1) * PER_BLOCK), countsAt);
    epochs.set(this.#epoch.subarray(block * WINDOWS, (block + 1) * WINDOWS), epochsAt);
  }

  /** A block filled from `exportBlock`'s output (checked by the caller: whole epochs ≥ 0). */
  importBlock(counts: Uint32Array, countsAt: number, epochs: Float64Array, epochsAt: number) {
    const block = this.alloc();
    this.#counts.set(counts.subarray(countsAt, countsAt + PER_BLOCK), block * PER_BLOCK);
    for (let w = 0; w < WINDOWS; w++) {
      const epoch = epochs[epochsAt + w]!;
      let sum = 0;
      for (let k = 0; k < RATE_BUCKETS; k++) sum += counts[countsAt + w * RATE_BUCKETS + k]!;
      this.#epoch[block * WINDOWS + w] = epoch;
      this.#sums[block * WINDOWS + w] = sum;
      this.#place[block * WINDOWS + w] = epoch % RATE_BUCKETS;
    }
    this.#until[block] = (this.#epoch[block * WINDOWS]! + 1) * BUCKET_MS[0]!;
    return block;
  }

  get bytes(): number {
    return (
      this.#counts.byteLength +
      this.#epoch.byteLength +
      this.#sums.byteLength +
      this.#place.byteLength +
      this.#until.byteLength +
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
      this.#place[epochAt] = index % RATE_BUCKETS;
    }
    this.#until[block] = (this.#epoch[block * WINDOWS]! + 1) * BUCKET_MS[0]!;
  }

  #grow(): void {
    const blocks = Math.max(INITIAL_BLOCKS, this.#capacity * 2);
    const counts = sharedUint32(blocks * PER_BLOCK);
    counts.set(this.#counts);
    const epoch = sharedFloat64(blocks * WINDOWS);
    epoch.set(this.#epoch);
    const sums = sharedFloat64(blocks * WINDOWS);
    sums.set(this.#sums);
    const place = sharedInt32(blocks * WINDOWS);
    place.set(this.#place);
    const until = sharedFloat64(blocks);
    until.set(this.#until);
    this.#counts = counts;
    this.#epoch = epoch;
    this.#sums = sums;
    this.#place = place;
    this.#until = until;
    this.#capacity = blocks;
  }
}
