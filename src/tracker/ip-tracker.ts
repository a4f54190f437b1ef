import { ConfigError, InvalidTimeError, quoteInput, SnapshotError } from '../errors.js';
import type { AddressFamily } from '../ip/address.js';
import { parseAddressOrThrow } from '../ip/normalize.js';
import { functionOption, integerOption, numberOption, optionsObject } from '../options.js';
import { checkArray, checkNumber, checkObject, ImageReader } from '../persist/image-reader.js';
import type {
  LoadStateOptions,
  StateExport,
  StateImage,
  StateMeta,
} from '../persist/state-image.js';
import { randomSeed } from '../tables/mix.js';
import { type Clock, ClockGuard, systemClock } from '../time/clock.js';
import { MAX_CAPACITY, MAX_COUNT, MAX_LOAD } from './growing-table.js';
import { IPv4Counts } from './ipv4-counts.js';
import { IPv6Counts } from './ipv6-counts.js';
import { type TopEntry, TopK } from './top-k.js';

export type { TopEntry } from './top-k.js';

/** When the tracker starts a new period on its own. */
export interface RolloverOptions {
  /** Length of a period. @default 86400 (a day) */
  periodSeconds?: number;
  /**
   * Where periods start, as an offset from the Unix epoch (UTC midnight when 0): periods
   * start at `offsetSeconds` past UTC midnight. `3600` starts them at 01:00 UTC (midnight in
   * UTC−1); `-3600` at 23:00 UTC (midnight in UTC+1).
   * @default 0
   */
  offsetSeconds?: number;
}

export interface IpTrackerOptions {
  /** How many addresses the top list keeps; `top(n)` accepts n up to this. @default 100 */
  topN?: number;
  /**
   * Distinct addresses expected per period. The IPv4 table is presized for this many, so
   * the day never pays for growth; without it the table starts small and doubles
   * incrementally (no call ever stalls, but growth costs some throughput while it runs).
   * After a `clear()` or a rollover the tables are presized for the period that just ended.
   */
  expectedAddresses?: number;
  /** Epoch-millisecond clock, read only for the rollover, under the rule of `ClockGuard`: a
   *  reading that is not a finite number throws `InvalidTimeError` from the call that read
   *  it, and a clock corrected backwards after a wild reading resumes its periods from the
   *  corrected time. @default Date.now */
  clock?: Clock;
  /** Start a new period automatically (`true`: daily at UTC midnight), keeping the
   *  finished period's top list in `previous`. @default false */
  rollover?: boolean | RolloverOptions;
}

/** What is kept of a finished period. */
export interface PeriodSummary {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  /** Distinct addresses seen. */
  size: number;
  /** Its top list (up to `topN` entries), best first. */
  top: TopEntry[];
}

/**
 * Sees every address the tracker counts, e.g. a fleet sync recording what changed since its
 * last flush. Installed with `IpTracker.observe`; the tracker calls it on the hot path, so an
 * observer must not allocate or throw.
 */
export interface CountObserver {
  /** One request from the IPv4 address in `words[0]` was counted (scratch: read, never keep). */
  countedV4(words: Uint32Array): void;
  /** One request from the IPv6 address in `words[0..3]` was counted (scratch: copy, never keep). */
  countedV6(words: Uint32Array): void;
  /** The tracker forgot every count (`clear()` or a rollover). */
  cleared(): void;
}

const NO_OBSERVER: CountObserver = { countedV4: () => {}, countedV6: () => {}, cleared: () => {} };

const DEFAULT_TOP_N = 100;
const MAX_TOP_N = 1_000_000;
const DAY_SECONDS = 86_400;
/** Most distinct addresses a table can hold (and so the largest useful presizing hint). */
const MAX_ADDRESSES = Math.floor(MAX_CAPACITY * MAX_LOAD);
/** Longest rollover period, and largest offset: a year of 366 days. */
const MAX_PERIOD_SECONDS = 366 * DAY_SECONDS;
const noop = () => {};
/** `meta.format` and `meta.version` of a tracker's image. */
const IMAGE_FORMAT = 'hitwarden.ip-tracker';
const IMAGE_VERSION = 1;

/** The rollover's state: the period being counted, and how periods are cut. */
interface Period {
  start: number;
  end: number;
  readonly periodMs: number;
  readonly offsetMs: number;
}

/** After `release()` the overlay is merged back in steps of `DRAIN_STEP` positions (each
 *  merge a likely cache miss in the big table: ~0.3–0.5 ms a step into a 20M-address
 *  tracker), per macrotask at most `DRAIN_SLICE_STEPS` of them and no more once
 *  `DRAIN_SLICE_MS` have gone: a count alone was not a bound in time (slices of 4096
 *  positions took up to 5 ms while a save's writes held the other core). */
const DRAIN_STEP = 1024;
const DRAIN_SLICE_STEPS = 4;
const DRAIN_SLICE_MS = 1;

/**
 * The counts made while an export holds the tables frozen (`IpTracker#exportState`): small
 * tables of their own, with the frozen ones' seeds so one hash serves both, added to the
 * frozen counts on every read.
 *
 * After `release()` the overlay drains: requests count into the tables again, and the
 * overlay's positions are merged into them a slice per macrotask, from position 0 up, so no
 * call pays for the whole merge (tens of ms after a long save under load). Meanwhile a read
 * adds what the overlay holds at or above its cursor, the part not merged yet. The overlay is
 * never written while it drains, so its positions hold still.
 */
class Overlay {
  readonly v4: IPv4Counts;
  readonly v6: IPv6Counts;
  /** Addresses counted here, not yet merged, that the tables do not hold. */
  added = 0;
  draining = false;
  cursor4 = 0;
  cursor6 = 0;

  constructor(
    readonly base4: IPv4Counts,
    readonly base6: IPv6Counts,
  ) {
    this.v4 = new IPv4Counts(0, base4.seed);
    this.v6 = new IPv6Counts(0, base6.seed);
  }

  incrementV4(words: Uint32Array, hash: number): number {
    if (this.draining) {
      const count = this.base4.increment(words, hash);
      const pending = this.v4.countFrom(words[0]!, hash, this.cursor4);
      // New to the tables but counted here: no longer an address only the overlay has.
      if (pending !== 0 && count === 1) this.added--;
      return Math.min(count + pending, MAX_COUNT);
    }
    const delta = this.v4.increment(words, hash);
    const base = this.base4.get(words[0]!, hash);
    if (delta === 1 && base === 0) this.added++;
    return Math.min(base + delta, MAX_COUNT);
  }

  incrementV6(words: Uint32Array, hash: number): number {
    if (this.draining) {
      const count = this.base6.increment(words, hash);
      const pending = this.v6.countFrom(words, hash, this.cursor6);
      if (pending !== 0 && count === 1) this.added--;
      return Math.min(count + pending, MAX_COUNT);
    }
    const delta = this.v6.increment(words, hash);
    const base = this.base6.get(words, hash);
    if (delta === 1 && base === 0) this.added++;
    return Math.min(base + delta, MAX_COUNT);
  }

  /** What the overlay adds to the count of the IPv4 address `word`. */
  countV4(word: number, hash: number): number {
    return this.draining ? this.v4.countFrom(word, hash, this.cursor4) : this.v4.get(word, hash);
  }

  countV6(words: Uint32Array, hash: number): number {
    return this.draining ? this.v6.countFrom(words, hash, this.cursor6) : this.v6.get(words, hash);
  }

  /** Starts draining (the tables are writable again). */
  startDrain(): void {
    // Positions are merged in order, so no migration may move them meanwhile.
    this.v4.finishMigration();
    this.v6.finishMigration();
    this.draining = true;
  }

  /** Merges the next `positions` positions into the tables; true once all are merged. */
  drain(positions: number): boolean {
    const words = new Uint32Array(4);
    let budget = positions;
    const v4 = this.v4.tables().slots;
    const end4 = Math.min(v4.length / 2, this.cursor4 + budget);
    for (let p = this.cursor4; p < end4; p++) {
      const count = v4[p * 2 + 1]!;
      if (count === 0) continue;
      words[0] = v4[p * 2]!;
      if (this.base4.add(words, this.base4.hash(words[0]!), count)) this.added--;
    }
    budget -= end4 - this.cursor4;
    this.cursor4 = end4;
    const v6 = this.v6.tables().slots;
    const end6 = Math.min(v6.length / 5, this.cursor6 + budget);
    for (let p = this.cursor6; p < end6; p++) {
      const count = v6[p * 5 + 4]!;
      if (count === 0) continue;
      for (let w = 0; w < 4; w++) words[w] = v6[p * 5 + w]!;
      if (this.base6.add(words, this.base6.hash(words), count)) this.added--;
    }
    this.cursor6 = end6;
    return end4 === v4.length / 2 && end6 === v6.length / 5;
  }

  /** Adds every overlay count to the (no longer frozen) tables. */
  merge(): void {
    const words = new Uint32Array(4);
    const base4 = this.base4;
    const base6 = this.base6;
    this.v4.visit((slots, at) => {
      words[0] = slots[at]!;
      base4.add(words, base4.hash(words[0]!), slots[at + 1]!);
    });
    this.v6.visit((slots, at) => {
      for (let w = 0; w < 4; w++) words[w] = slots[at + w]!;
      base6.add(words, base6.hash(words), slots[at + 4]!);
    });
  }
}

/**
 * Counts requests per client address and answers the exact top N at any moment.
 *
 * `requestHandled` parses the address text straight into numbers, bumps a count in a
 * typed-array hash table and, only when the count reaches the current top list, updates an
 * N-entry heap. Nothing is allocated per request, so the garbage collector has nothing to
 * chase however many addresses the day brings; `top100()` reads the heap, never the table.
 *
 * ```ts
 * const tracker = new IpTracker();
 * tracker.requestHandled('203.0.113.7');
 * tracker.top100(); // [{ ip: '203.0.113.7', count: 1 }]
 * ```
 */
export class IpTracker {
  /** The `topN` this tracker was built with. */
  readonly topN: number;
  #v4: IPv4Counts;
  #v6: IPv6Counts;
  #top: TopK;
  readonly #scratch = new Uint32Array(4);
  readonly #expected: number;
  /** The rollover check, installed only when rollover is on so the hot path pays nothing. */
  #beforeAccess: () => void = noop;
  #previous: PeriodSummary | undefined;
  #observer: CountObserver = NO_OBSERVER;
  readonly #clock: Clock;
  #period: Period | null = null;
  /** Set while an export holds the tables frozen: counts go here until `release()`. */
  #overlay: Overlay | null = null;

  constructor(options?: IpTrackerOptions) {
    options = optionsObject('IpTracker', options);
    this.topN = integerOption('IpTracker.topN', options.topN, DEFAULT_TOP_N, 1, MAX_TOP_N);
    this.#expected = integerOption(
      'IpTracker.expectedAddresses',
      options.expectedAddresses,
      0,
      0,
      MAX_ADDRESSES,
    );
    this.#v4 = new IPv4Counts(this.#expected, randomSeed());
    this.#v6 = new IPv6Counts(0, randomSeed());
    this.#top = new TopK(this.topN);
    const clock = functionOption(
      'IpTracker.clock',
      options.clock,
      systemClock,
      'returning epoch milliseconds',
    );
    this.#clock = clock;
    const rollover = options.rollover ?? false;
    if (rollover === true) this.#installRollover({}, clock);
    else if (rollover !== false) {
      if (rollover === null || typeof rollover !== 'object') {
        throw new ConfigError(
          'IpTracker.rollover',
          `must be true, false or { periodSeconds, offsetSeconds }, got ${quoteInput(rollover)}`,
        );
      }
      this.#installRollover(optionsObject('IpTracker.rollover', rollover), clock);
    }
  }

  /**
   * Counts one request from `ip` (IPv4 or IPv6 text; IPv4-mapped IPv6 counts as the IPv4
   * address). Throws `InvalidIpError` for anything else, leaving the counts untouched.
   */
  requestHandled(ip: string): void {
    this.#beforeAccess();
    const words = this.#scratch;
    this.#count(parseAddressOrThrow(ip, words), words);
  }

  /**
   * Counts one request from an address already parsed, e.g. by `parseAddressIn` straight
   * from a log's buffer: `family` 4 with the address in `words[0]`, or 6 with it in
   * `words[0..3]` (what the parser writes). For a reader that must not make a string per
   * request; the words are read, never kept.
   */
  countAddress(family: AddressFamily, words: Uint32Array): void {
    if (family !== 4 && family !== 6) {
      throw new ConfigError(
        'IpTracker.countAddress.family',
        `must be 4 or 6, got ${quoteInput(family)}`,
      );
    }
    this.#beforeAccess();
    this.#count(family, words);
  }

  #count(family: AddressFamily, words: Uint32Array): void {
    if (family === 4) {
      const v4 = this.#v4;
      const word = words[0]!;
      const hash = v4.hash(word);
      const count =
        this.#overlay === null ? v4.increment(words, hash) : this.#overlay.incrementV4(words, hash);
      const top = this.#top;
      if (count > top.threshold || (count === top.threshold && word < top.v4TieBound)) {
        top.offer(4, words, hash, count);
      }
      this.#observer.countedV4(words);
    } else {
      const v6 = this.#v6;
      const hash = v6.hash(words);
      const count =
        this.#overlay === null ? v6.increment(words, hash) : this.#overlay.incrementV6(words, hash);
      const top = this.#top;
      if (count > top.threshold || (count === top.threshold && top.v6TieWins(words))) {
        top.offer(6, words, hash, count);
      }
      this.#observer.countedV6(words);
    }
  }

  /** The 100 addresses with most requests, best first (or `topN` of them if fewer). */
  top100(): TopEntry[] {
    return this.top(Math.min(100, this.topN));
  }

  /**
   * The `n` addresses with most requests: count descending, ties by address ascending
   * (numerically, IPv4 before IPv6) — a pure function of the counts, not of arrival order.
   */
  top(n: number): TopEntry[] {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > this.topN) {
      throw new ConfigError(
        'IpTracker.top.n',
        `must be an integer from 0 to topN (${this.topN}), got ${quoteInput(n)}`,
      );
    }
    this.#beforeAccess();
    return this.#top.top(n);
  }

  /** Requests counted for `ip` in the current period; throws `InvalidIpError` like
   *  `requestHandled`. */
  count(ip: string): number {
    this.#beforeAccess();
    const words = this.#scratch;
    const overlay = this.#overlay;
    if (parseAddressOrThrow(ip, words) === 4) {
      const hash = this.#v4.hash(words[0]!);
      const count = this.#v4.get(words[0]!, hash);
      return overlay === null
        ? count
        : Math.min(count + overlay.countV4(words[0]!, hash), MAX_COUNT);
    }
    const hash = this.#v6.hash(words);
    const count = this.#v6.get(words, hash);
    return overlay === null ? count : Math.min(count + overlay.countV6(words, hash), MAX_COUNT);
  }

  /** Distinct addresses seen in the current period. */
  get size(): number {
    this.#beforeAccess();
    return this.#distinct();
  }

  #distinct(): number {
    return this.#v4.size + this.#v6.size + (this.#overlay?.added ?? 0);
  }

  /** Bytes held by the tracker's tables (the heap-allocated remainder is a few hundred). */
  get memoryBytes(): number {
    const overlay = this.#overlay;
    return (
      this.#v4.bytes + this.#v6.bytes + (overlay === null ? 0 : overlay.v4.bytes + overlay.v6.bytes)
    );
  }

  /**
   * Whether a released export is still being merged back (a slice per macrotask, see
   * `exportState`); every answer is exact meanwhile.
   */
  get merging(): boolean {
    return this.#overlay?.draining === true;
  }

  /** The last finished period when rollover is on; `undefined` before the first one ends. */
  get previous(): PeriodSummary | undefined {
    this.#beforeAccess();
    return this.#previous;
  }

  /**
   * Forgets every count. O(1): fresh tables are allocated (presized for the period that
   * just ended) rather than hundreds of megabytes being zeroed in place.
   */
  clear(): void {
    const v4Size = this.#v4.size + (this.#overlay?.v4.size ?? 0);
    const v6Size = this.#v6.size + (this.#overlay?.v6.size ?? 0);
    // Fresh tables: an export's frozen arrays are left as they are, and the counts made
    // since it froze them are forgotten with the rest.
    this.#overlay = null;
    this.#v4.reset(Math.max(this.#expected, v4Size));
    this.#v6.reset(v6Size);
    this.#top.clear();
    this.#observer.cleared();
  }

  /**
   * Installs the one observer of this tracker (`null` removes it). Throws when another is
   * installed: two syncs on one tracker would each flush every request.
   */
  observe(observer: CountObserver | null): void {
    if (observer !== null && this.#observer !== NO_OBSERVER) {
      throw new ConfigError('observer', 'this tracker already has an observer');
    }
    this.#observer = observer ?? NO_OBSERVER;
  }

  /**
   * Exports the whole state — both address tables (mid-doubling included), the top list, the
   * hash seeds, the rollover's current period and `previous` — without copying the tables.
   *
   * The image's `v4Slots`/`v6Slots` (and `v4Old`/`v6Old` while a table doubles) are the live
   * tables themselves, on `SharedArrayBuffer`s, frozen: until `release()` the tracker counts
   * into a small overlay and answers `top`, `count` and `size` from both, so the arrays hold
   * still while they are written out (from this thread in slices, or from a worker the buffers
   * are posted to) and the call costs microseconds at any size. Call `release()` once the
   * image is written: counting goes back to the tables at once, and the overlay is merged
   * into them at most a millisecond's worth per macrotask (`merging` says while), each answer
   * adding what is not merged yet, so no call pays for the whole merge. A `clear()` or a
   * rollover during an export is fine: the frozen arrays are left alone, and `release()`
   * then has nothing to merge.
   *
   * Throws `SnapshotError` while another export is open, and `InvalidTimeError` when the clock
   * returns garbage.
   */
  exportState(): StateExport {
    const open = this.#overlay;
    if (open !== null && !open.draining) {
      throw new SnapshotError('IpTracker.exportState', 'an export is open: release() it first');
    }
    // The last export's overlay still merging back (milliseconds after its release, unless
    // the event loop had no turn since): finished now, so the tables hold every count.
    if (open !== null) {
      while (!open.drain(Number.POSITIVE_INFINITY));
      this.#overlay = null;
    }
    this.#beforeAccess(); // a period that has ended is rolled over first, as any read would
    const takenAt = this.#clock();
    if (typeof takenAt !== 'number' || !Number.isFinite(takenAt)) {
      throw new InvalidTimeError('IpTracker.clock()', takenAt, 'must return epoch milliseconds');
    }
    const v4 = this.#v4.tables();
    const v6 = this.#v6.tables();
    const top = this.#top.exportEntries();
    const period = this.#period;
    const previous = this.#previous;
    const meta: { [key: string]: StateMeta } = {
      format: IMAGE_FORMAT,
      version: IMAGE_VERSION,
      takenAt,
      topN: this.topN,
      v4Seed: this.#v4.seed,
      v6Seed: this.#v6.seed,
      v4Size: this.#v4.size,
      v6Size: this.#v6.size,
      v4Cursor: v4.old === null ? null : v4.cursor,
      v6Cursor: v6.old === null ? null : v6.cursor,
      period:
        period === null
          ? null
          : { start: period.start, periodMs: period.periodMs, offsetMs: period.offsetMs },
      previous:
        previous === undefined
          ? null
          : {
              start: previous.start,
              end: previous.end,
              size: previous.size,
              top: previous.top.map(({ ip, count }) => ({ ip, count })),
            },
    };
    const arrays: { [name: string]: Uint32Array | Uint8Array } = {
      v4Slots: v4.slots,
      v6Slots: v6.slots,
      topCounts: top.counts,
      topFamilies: top.families,
      topWords: top.words,
    };
    if (v4.old !== null) arrays.v4Old = v4.old;
    if (v6.old !== null) arrays.v6Old = v6.old;
    const overlay = new Overlay(this.#v4, this.#v6);
    this.#overlay = overlay;
    let released = false;
    return {
      image: { meta, arrays },
      release: () => {
        if (released) return;
        released = true;
        // After a clear() the overlay was dropped with the counts: nothing to merge.
        if (this.#overlay !== overlay) return;
        overlay.startDrain();
        const slice = () => {
          if (this.#overlay !== overlay) return; // cleared, loaded over, or finished by an export
          const start = performance.now();
          for (let step = 1; ; step++) {
            if (overlay.drain(DRAIN_STEP)) {
              this.#overlay = null;
              return;
            }
            if (step === DRAIN_SLICE_STEPS || performance.now() - start >= DRAIN_SLICE_MS) break;
          }
          setImmediate(slice);
        };
        slice();
      },
    };
  }

  /**
   * Replaces the whole state with an image from `exportState` (of this version of hitwarden),
   * copying its arrays into fresh tables. Everything is checked first — every slot reachable
   * from its hash with no duplicate, sizes, the top list against the tables, every meta field
   * — and a malformed image is refused with a `SnapshotError` naming the part, leaving the
   * tracker as it was. The tracker's own `topN` and rollover options win: with another
   * `topN` than the image's the top list is rebuilt from the tables (linear in their size); a
   * saved period that has ended by now rolls over on the next access, so its counts become
   * `previous` as if the process had never stopped. Throws while an export is open. With
   * `options.adopt` the image's address tables become the tracker's own instead of being
   * copied (`LoadStateOptions`).
   */
  loadState(image: StateImage, options: LoadStateOptions = {}): void {
    if (this.#overlay !== null && !this.#overlay.draining) {
      throw new SnapshotError('IpTracker.loadState', 'an export is open: release() it first');
    }
    const r = new ImageReader(image, IMAGE_FORMAT, IMAGE_VERSION);
    const int32 = { integer: true, min: -0x8000_0000, max: 0x7fff_ffff };
    const count = { integer: true, min: 0 };
    const takenAt = r.number('takenAt');
    const savedTopN = r.number('topN', { integer: true, min: 1, max: MAX_TOP_N });
    const v4 = new IPv4Counts(0, r.number('v4Seed', int32));
    const v6 = new IPv6Counts(0, r.number('v6Seed', int32));
    const cursorOf = (key: string) => {
      const value = r.field(key);
      return value === null ? null : checkNumber(`meta.${key}`, value, count);
    };
    const v4Cursor = cursorOf('v4Cursor');
    const v6Cursor = cursorOf('v6Cursor');
    v4.load(
      'v4',
      r.array('v4Slots', Uint32Array),
      v4Cursor === null ? null : r.array('v4Old', Uint32Array),
      v4Cursor ?? 0,
      r.number('v4Size', count),
      options.adopt === true,
    );
    v6.load(
      'v6',
      r.array('v6Slots', Uint32Array),
      v6Cursor === null ? null : r.array('v6Old', Uint32Array),
      v6Cursor ?? 0,
      r.number('v6Size', count),
      options.adopt === true,
    );
    const period = readPeriod(r.field('period'));
    const previous = readSummary(r.field('previous'));
    const top = new TopK(this.topN);
    if (savedTopN === this.topN) loadTop(r, top, v4, v6);
    else rebuildTop(top, v4, v6);

    this.#overlay = null; // a released export's overlay, still merging, is replaced too
    this.#v4 = v4;
    this.#v6 = v6;
    this.#top = top;
    this.#previous = previous;
    const current = this.#period;
    if (current !== null) {
      const { periodMs, offsetMs } = current;
      const from =
        period !== null && period.periodMs === periodMs && period.offsetMs === offsetMs
          ? period.start
          : Math.floor(((period?.start ?? takenAt) - offsetMs) / periodMs) * periodMs + offsetMs;
      current.start = from;
      current.end = from + periodMs;
    }
    this.#observer.cleared();
  }

  #installRollover(options: RolloverOptions, clock: Clock): void {
    const periodMs =
      numberOption('IpTracker.rollover.periodSeconds', options.periodSeconds, DAY_SECONDS, {
        min: 1,
        max: MAX_PERIOD_SECONDS,
        unit: 'seconds',
      }) * 1000;
    const offsetMs =
      numberOption('IpTracker.rollover.offsetSeconds', options.offsetSeconds, 0, {
        min: -MAX_PERIOD_SECONDS,
        max: MAX_PERIOD_SECONDS,
        unit: 'seconds',
      }) * 1000;
    const guard = new ClockGuard(clock);
    const startOf = (t: number) => Math.floor((t - offsetMs) / periodMs) * periodMs + offsetMs;
    const first = startOf(guard.read());
    const period: Period = { start: first, end: first + periodMs, periodMs, offsetMs };
    this.#period = period;
    this.#beforeAccess = () => {
      const t = guard.read();
      if (t < period.end) {
        // Before the period began: the clock was corrected after a wild reading (one that
        // ran ahead and rolled the periods over). Periods resume from the corrected time,
        // keeping what was counted since; without this the tracker would not roll over
        // again until the real clock caught up with the wild reading.
        if (t < period.start) {
          period.start = startOf(t);
          period.end = period.start + periodMs;
        }
        return;
      }
      const nextStart = startOf(t);
      // When whole periods passed without a single access, the one just before now was empty.
      this.#previous =
        nextStart === period.end
          ? {
              start: period.start,
              end: period.end,
              size: this.#distinct(),
              top: this.#top.top(this.topN),
            }
          : { start: nextStart - periodMs, end: nextStart, size: 0, top: [] };
      this.clear();
      period.start = nextStart;
      period.end = nextStart + periodMs;
    };
  }
}

/** Offers the top list of an image to an empty `top`, each entry checked against the tables. */
function loadTop(r: ImageReader, top: TopK, v4: IPv4Counts, v6: IPv6Counts): void {
  const counts = r.array('topCounts', Uint32Array);
  const n = counts.length;
  const families = r.array('topFamilies', Uint8Array, n);
  const words = r.array('topWords', Uint32Array, n * 4);
  const expected = Math.min(top.capacity, v4.size + v6.size);
  if (n !== expected) {
    throw new SnapshotError('arrays.topCounts', `must hold ${expected} entries, holds ${n}`);
  }
  const scratch = new Uint32Array(4);
  for (let id = 0; id < n; id++) {
    for (let w = 0; w < 4; w++) scratch[w] = words[id * 4 + w]!;
    const family = families[id];
    let hash: number;
    let held: number;
    if (family === 4) {
      hash = v4.hash(scratch[0]!);
      held = v4.get(scratch[0]!, hash);
    } else if (family === 6) {
      hash = v6.hash(scratch);
      held = v6.get(scratch, hash);
    } else {
      throw new SnapshotError(`arrays.topFamilies`, `entry ${id} is family ${family}, not 4 or 6`);
    }
    if (held === 0 || held !== counts[id]) {
      throw new SnapshotError(
        'arrays.topCounts',
        `entry ${id} counts ${counts[id]}, the tables ${held} for its address`,
      );
    }
    top.offer(family, scratch, hash, held);
  }
  if (top.size !== n) throw new SnapshotError('arrays.topWords', 'holds an address twice');
}

/** Fills an empty `top` from every address the tables hold (when `topN` changed). */
function rebuildTop(top: TopK, v4: IPv4Counts, v6: IPv6Counts): void {
  const words = new Uint32Array(4);
  v4.visit((slots, at) => {
    const count = slots[at + 1]!;
    words[0] = slots[at]!;
    if (count > top.threshold || (count === top.threshold && words[0] < top.v4TieBound)) {
      top.offer(4, words, v4.hash(words[0]), count);
    }
  });
  v6.visit((slots, at) => {
    const count = slots[at + 4]!;
    for (let w = 0; w < 4; w++) words[w] = slots[at + w]!;
    if (count > top.threshold || (count === top.threshold && top.v6TieWins(words))) {
      top.offer(6, words, v6.hash(words), count);
    }
  });
}

function readPeriod(value: StateMeta | undefined): Period | null {
  if (value === null) return null;
  const period = checkObject('meta.period', value);
  const periodMs = checkNumber('meta.period.periodMs', period.periodMs, {
    min: 1000,
    max: MAX_PERIOD_SECONDS * 1000,
  });
  const offsetMs = checkNumber('meta.period.offsetMs', period.offsetMs, {
    min: -MAX_PERIOD_SECONDS * 1000,
    max: MAX_PERIOD_SECONDS * 1000,
  });
  const start = checkNumber('meta.period.start', period.start);
  return { start, end: start + periodMs, periodMs, offsetMs };
}

function readSummary(value: StateMeta | undefined): PeriodSummary | undefined {
  if (value === null) return undefined;
  const summary = checkObject('meta.previous', value);
  const start = checkNumber('meta.previous.start', summary.start);
  const end = checkNumber('meta.previous.end', summary.end, { min: start });
  const size = checkNumber('meta.previous.size', summary.size, { integer: true, min: 0 });
  const top = checkArray('meta.previous.top', summary.top).map((item, i) => {
    const entry = checkObject(`meta.previous.top[${i}]`, item);
    if (typeof entry.ip !== 'string' || entry.ip.length > 45) {
      throw new SnapshotError(
        `meta.previous.top[${i}].ip`,
        `must be an address, got ${quoteInput(entry.ip)}`,
      );
    }
    const count = checkNumber(`meta.previous.top[${i}].count`, entry.count, {
      integer: true,
      min: 1,
      max: MAX_COUNT,
    });
    return { ip: entry.ip, count };
  });
  return { start, end, size, top };
}
