import { HitwardenError, InvalidTimeError, quoteInput, SnapshotError } from '../../errors.js';
import { functionOption, integerOption, optionsObject } from '../../options.js';
import { ImageReader } from '../../persist/image-reader.js';
import type { StateExport, StateImage } from '../../persist/state-image.js';
import { decodeTokens, encodeTokens } from '../../store/memory/memory-image.js';
import { type Clock, ClockGuard, systemClock } from '../../time/clock.js';
import { MAX_SPAN_SECONDS } from '../config.js';

const DENY_CACHE_FORMAT = 'hitwarden.deny-cache';

export interface LocalBlockCacheOptions {
  /** @default Date.now */
  clock?: Clock;
  /** Most tokens held (an integer ≥ 1); past it the oldest entries go first (expired ones
   *  before live ones). @default 100000 */
  maxEntries?: number;
}

/** One block: when it started and how long it lasts, in epoch ms and ms. */
interface Block {
  start: number;
  readonly lengthMs: number;
}

/**
 * A deny cache: tokens blocked until a time. Each BanHammer has one (`denyCache`), filled by
 * `decide`; the HTTP guard is answered from it before anything else, so a banned caller costs
 * no store round trip. Keys live in a Map (a token named `__proto__` is just a key); expired
 * entries are removed when looked up or when room is needed, never by a sweep of the whole.
 *
 * The clock is read through a `ClockGuard`. A block started while the clock read wildly ahead
 * is, once the clock is corrected, treated as started at the corrected time: it lasts at most
 * its length from now, never a year because of one bad reading. That is checked per token
 * when the token is looked at, never by a sweep.
 */
export class LocalBlockCache {
  /** Made on the first block, so a cache never used holds nothing. */
  #blocksMap: Map<string, Block> | undefined;
  readonly #clock: ClockGuard;
  readonly #maxEntries: number;

  constructor(options?: LocalBlockCacheOptions) {
    const given = optionsObject('LocalBlockCache', options);
    this.#clock = new ClockGuard(
      functionOption<Clock>(
        'LocalBlockCache.clock',
        given.clock,
        systemClock,
        'returning epoch milliseconds',
      ),
    );
    this.#maxEntries = integerOption('LocalBlockCache.maxEntries', given.maxEntries, 100_000, 1);
  }

  /** Blocks `token` for `seconds` from now (a longer block already in force is kept).
   *  `seconds` is a finite number from 0 to `MAX_SPAN_SECONDS` (366 days). */
  block(token: string, seconds: number): void {
    if (typeof token !== 'string') {
      throw new HitwardenError(
        'HITWARDEN_INVALID_KEY',
        `LocalBlockCache.block: token must be a string, got ${quoteInput(token)}`,
      );
    }
    if (typeof seconds !== 'number' || !(seconds >= 0 && seconds <= MAX_SPAN_SECONDS)) {
      throw new InvalidTimeError(
        'seconds',
        seconds,
        `must be a finite number of seconds from 0 to ${MAX_SPAN_SECONDS} (366 days)`,
      );
    }
    const now = this.#clock.read();
    const lengthMs = seconds * 1000;
    this.#blocksMap ??= new Map();
    const current = this.#blocks.get(token);
    if (current !== undefined && this.#endOf(current, now) >= now + lengthMs) return;
    // Re-inserted at the end, so the Map's order stays roughly the order of expiry.
    this.#blocks.delete(token);
    this.#blocks.set(token, { start: now, lengthMs });
    if (this.#blocks.size > this.#maxEntries) this.#makeRoom(now);
  }

  /** Whether `token` is blocked now. */
  isBlocked(token: string): boolean {
    return this.retryAfter(token) > 0;
  }

  /** Whole seconds until `token` may pass again (for `Retry-After`); 0 when it may now. */
  retryAfter(token: string): number {
    return Math.ceil(this.remainingMs(token) / 1000);
  }

  /** Ms until `token` may pass again; 0 when it may now. */
  remainingMs(token: string): number {
    const block = this.#blocksMap?.get(token);
    if (block === undefined) return 0;
    const now = this.#clock.read();
    const left = this.#endOf(block, now) - now;
    if (left <= 0) {
      this.#blocks.delete(token);
      return 0;
    }
    return left;
  }

  unblock(token: string): void {
    this.#blocksMap?.delete(token);
  }

  clear(): void {
    this.#blocksMap?.clear();
  }

  /**
   * The blocks in force as a `StateImage` (`meta.format` `hitwarden.deny-cache`): tokens as
   * UTF-16 columns (`tokenChars`, `tokenEnds`), each block's start (epoch ms) and length (ms)
   * in `starts` and `lengthsMs`, in the cache's order (ended ones not yet looked up too), and
   * the clock guard's latest reading. A copy; `release` has nothing to do. Without it a restarted guard
   * would count one more event for a banned token before the cache learns of its ban again.
   */
  exportState(): StateExport {
    const now = this.#clock.read();
    const tokens: string[] = [];
    const starts: number[] = [];
    const lengths: number[] = [];
    // Ended blocks too: like the map, an image keeps them until they are looked up, so that a
    // clock corrected back finds what the live cache would have found.
    for (const [token, block] of this.#blocksMap ?? []) {
      tokens.push(token);
      starts.push(block.start);
      lengths.push(block.lengthMs);
    }
    const { tokenChars, tokenEnds } = encodeTokens(tokens);
    return {
      image: {
        meta: {
          format: DENY_CACHE_FORMAT,
          version: 1,
          takenAt: now,
          clockLatest: this.#clock.latest,
        },
        arrays: {
          tokenChars,
          tokenEnds,
          starts: Float64Array.from(starts),
          lengthsMs: Float64Array.from(lengths),
        },
      },
      release: () => {},
    };
  }

  /**
   * Replaces the blocks with an image's, as they were (an ended block goes when it is next
   * looked up or room is needed, as in the live cache), at most the last `maxEntries`; the
   * clock guard resumes from the saved one's latest reading. Throws `SnapshotError` (naming the part) and
   * changes nothing when the image is malformed.
   */
  loadState(image: StateImage): void {
    const r = new ImageReader(image, DENY_CACHE_FORMAT, 1);
    const latest = r.number('clockLatest');
    const tokenEnds = r.array('tokenEnds', Uint32Array);
    const starts = r.array('starts', Float64Array, tokenEnds.length);
    const lengths = r.array('lengthsMs', Float64Array, tokenEnds.length);
    const tokens = decodeTokens(r.array('tokenChars', Uint16Array), tokenEnds);
    for (let k = 0; k < starts.length; k++) {
      if (!Number.isFinite(starts[k]!)) {
        throw new SnapshotError('arrays.starts', `element ${k} is ${starts[k]}`);
      }
      if (!(lengths[k]! >= 0 && lengths[k]! <= MAX_SPAN_SECONDS * 1000)) {
        throw new SnapshotError('arrays.lengthsMs', `element ${k} is ${lengths[k]}`);
      }
    }
    this.#clock.resume(latest);
    const blocks = new Map<string, Block>();
    for (let k = Math.max(0, tokens.length - this.#maxEntries); k < tokens.length; k++) {
      blocks.set(tokens[k]!, { start: starts[k]!, lengthMs: lengths[k]! });
    }
    this.#blocksMap = blocks;
  }

  /** Entries held (expired ones may linger until looked up or pushed out). */
  get size(): number {
    return this.#blocksMap?.size ?? 0;
  }

  /** The blocks, once one was made (every caller runs after `block` made the map). */
  get #blocks(): Map<string, Block> {
    return this.#blocksMap!;
  }

  /** When `block` ends, seen at `now`: one that started after `now` (stamped by a reading
   *  the clock has since corrected) is taken as started now, and rewritten so. */
  #endOf(block: Block, now: number): number {
    if (block.start > now) block.start = now;
    return block.start + block.lengthMs;
  }

  #makeRoom(now: number): void {
    // Expired entries among the oldest few go first; then the oldest, live or not.
    let looked = 0;
    for (const [token, block] of this.#blocks) {
      if (this.#blocks.size <= this.#maxEntries || ++looked > 16) break;
      if (this.#endOf(block, now) <= now) this.#blocks.delete(token);
    }
    for (const token of this.#blocks.keys()) {
      if (this.#blocks.size <= this.#maxEntries) break;
      this.#blocks.delete(token);
    }
  }
}
