import { ConfigError, quoteInput } from '../errors.js';
import type { AddressFamily } from '../ip/address.js';
import { parseAddressOrThrow } from '../ip/normalize.js';
import { functionOption, integerOption, numberOption, optionsObject } from '../options.js';
import { randomSeed } from '../tables/mix.js';
import { type Clock, ClockGuard, systemClock } from '../time/clock.js';
import { MAX_CAPACITY, MAX_LOAD } from './growing-table.js';
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
  readonly #top: TopK;
  readonly #scratch = new Uint32Array(4);
  readonly #expected: number;
  /** The rollover check, installed only when rollover is on so the hot path pays nothing. */
  #beforeAccess: () => void = noop;
  #previous: PeriodSummary | undefined;
  #observer: CountObserver = NO_OBSERVER;

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
      const count = v4.increment(words, hash);
      const top = this.#top;
      if (count > top.threshold || (count === top.threshold && word < top.v4TieBound)) {
        top.offer(4, words, hash, count);
      }
      this.#observer.countedV4(words);
    } else {
      const v6 = this.#v6;
      const hash = v6.hash(words);
      const count = v6.increment(words, hash);
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
    if (parseAddressOrThrow(ip, words) === 4)
      return this.#v4.get(words[0]!, this.#v4.hash(words[0]!));
    return this.#v6.get(words, this.#v6.hash(words));
  }

  /** Distinct addresses seen in the current period. */
  get size(): number {
    this.#beforeAccess();
    return this.#v4.size + this.#v6.size;
  }

  /** Bytes held by the tracker's tables (the heap-allocated remainder is a few hundred). */
  get memoryBytes(): number {
    return this.#v4.bytes + this.#v6.bytes;
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
    const v4Size = this.#v4.size;
    const v6Size = this.#v6.size;
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
    let start = startOf(guard.read());
    let end = start + periodMs;
    this.#beforeAccess = () => {
      const t = guard.read();
      if (t < end) {
        // Before the period began: the clock was corrected after a wild reading (one that
        // ran ahead and rolled the periods over). Periods resume from the corrected time,
        // keeping what was counted since; without this the tracker would not roll over
        // again until the real clock caught up with the wild reading.
        if (t < start) {
          start = startOf(t);
          end = start + periodMs;
        }
        return;
      }
      const nextStart = startOf(t);
      // When whole periods passed without a single access, the one just before now was empty.
      this.#previous =
        nextStart === end
          ? { start, end, size: this.#v4.size + this.#v6.size, top: this.#top.top(this.topN) }
          : { start: nextStart - periodMs, end: nextStart, size: 0, top: [] };
      this.clear();
      start = nextStart;
      end = nextStart + periodMs;
    };
  }
}
