import { SnapshotError } from '../../errors.js';
import { checkArray, checkNumber, checkObject, ImageReader } from '../../persist/image-reader.js';
import type { StateImage, StateMeta } from '../../persist/state-image.js';
import { mix32 } from '../../tables/mix.js';
import { sortByHome } from '../../tables/pair-index.js';
import type { StoreMetric } from '../store.js';
import { MAX_TOKENS } from './memory-options.js';
import { PER_BLOCK, WINDOWS } from './rate-buckets.js';

/*
 * The memory store's image: its pairs as columns, not its slots as they lie. The slot layout
 * (record offsets, ring blocks, the index) depends on the hash seed, the metrics' order and
 * their limits, so an image of it would only load into a store configured exactly alike.
 * Written by pair instead, with metrics by name and every time absolute, an image loads into
 * a store whose config reordered, changed or dropped metrics, and a restored store re-hashes
 * every pair with a seed of its own.
 *
 * Arrays (n pairs, in slot order):
 *   tokenChars   Uint16Array  every token's UTF-16 code units, one after the other
 *   tokenEnds    Uint32Array  n: where each token ends in tokenChars
 *   pairSlot     Uint32Array  n: the pair's slot, ascending (below meta.highWater)
 *   pairFlags    Uint8Array   n: 1 used since the eviction hand passed, 2 not settled since
 *                             the last clock correction
 *   pairMetric   Uint32Array  n: the pair's metric, an index into meta.metrics
 *   pairExpires  Float64Array n: epoch ms when nothing in the pair can matter any more
 *   ringCounts   Uint32Array  n: events the pair's ring holds
 *   ringTimes    Float64Array Σ ringCounts: the rings' timestamps, oldest first, pair by pair
 *   bucketPairs  Uint32Array  b: the pairs with bucketed rates, ascending
 *   bucketCounts Uint32Array  b × 3 × 60: their buckets (rate-buckets.ts)
 *   bucketEpochs Float64Array b × 3: each window's newest bucket, as time / bucket width
 *   banPairs     Uint32Array  k: the pairs ever banned since made, ascending
 *   banEnds      Float64Array Σ thresholds: their per-threshold ban ends (0: none), epoch ms
 *   freeSlots    Uint32Array  the free slots below meta.highWater, in free-list order
 * Meta beside the metrics: highWater (slots ever used), hand and evictionHand (the two clock
 * hands' slots), clockLatest (the clock guard's latest reading, null before the first), the
 * counters evictions, expirations and untracked. Keeping the layout of the slots (not of
 * the index, which is re-hashed) is what makes a restored store evict, sweep and settle the
 * same pairs at the same times as the saved one.
 */

export const IMAGE_FORMAT = 'hitwarden.memory-store';
export const IMAGE_VERSION = 1;

/** The pairs as the core exports them (tokens as UTF-16 columns). */
export interface MemoryPairs extends PairTables {
  readonly tokenChars: Uint16Array;
  readonly tokenEnds: Uint32Array;
}

/** The columns and layout an export and a checked image share. */
export interface PairTables {
  readonly pairSlot: Uint32Array;
  readonly pairFlags: Uint8Array;
  readonly pairMetric: Uint32Array;
  readonly pairExpires: Float64Array;
  readonly ringCounts: Uint32Array;
  readonly ringTimes: Float64Array;
  readonly bucketPairs: Uint32Array;
  readonly bucketCounts: Uint32Array;
  readonly bucketEpochs: Float64Array;
  readonly banPairs: Uint32Array;
  readonly banEnds: Float64Array;
  readonly freeSlots: Uint32Array;
  readonly highWater: number;
  readonly hand: number;
  readonly evictionHand: number;
  /** `-Infinity` before the first reading. */
  readonly clockLatest: number;
}

type ColumnArray = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** A typed array that an export appends to, doubling as it fills. */
export class Column<T extends ColumnArray> {
  length = 0;
  #data: T;
  readonly #make: (length: number) => T;

  /** `capacity`: the length expected, so that an export of a known size never regrows. */
  constructor(make: (length: number) => T, capacity = 1024) {
    this.#make = make;
    this.#data = make(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = this.#make(this.#data.length * 2);
      bigger.set(this.#data as never);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }

  at(i: number): number {
    return this.#data[i]!;
  }

  /** What was appended: a view, not a copy (the column is not used after). */
  done(): T {
    return this.#data.subarray(0, this.length) as T;
  }
}

/**
 * The columns of `MemoryPairs` while an export collects them (`MemoryCore#exportSlots`), each
 * sized for `pairs` pairs of one event each. The tokens are kept as the strings they are and
 * laid out as UTF-16 columns once, at the end (`encodeTokens`): copying them a code unit at a
 * time into a growing column took a third of an export.
 */
export class PairColumns {
  readonly tokens: string[] = [];
  readonly pairSlot: Column<Uint32Array>;
  readonly pairFlags: Column<Uint8Array>;
  readonly pairMetric: Column<Uint32Array>;
  readonly pairExpires: Column<Float64Array>;
  readonly ringCounts: Column<Uint32Array>;
  readonly ringTimes: Column<Float64Array>;
  readonly bucketPairs = new Column((n) => new Uint32Array(n));
  readonly bucketCounts = new Column((n) => new Uint32Array(n));
  readonly bucketEpochs = new Column((n) => new Float64Array(n));
  readonly banPairs = new Column((n) => new Uint32Array(n));
  readonly banEnds = new Column((n) => new Float64Array(n));

  constructor(pairs = 1024) {
    this.pairSlot = new Column((n) => new Uint32Array(n), pairs);
    this.pairFlags = new Column((n) => new Uint8Array(n), pairs);
    this.pairMetric = new Column((n) => new Uint32Array(n), pairs);
    this.pairExpires = new Column((n) => new Float64Array(n), pairs);
    this.ringCounts = new Column((n) => new Uint32Array(n), pairs);
    this.ringTimes = new Column((n) => new Float64Array(n), pairs);
  }
}

/** A checked image, waiting for the store's `open` to learn its metrics. */
export interface MemoryImage extends PairTables {
  /** The tokens, decoded. */
  readonly tokens: readonly string[];
  readonly takenAt: number;
  readonly metrics: readonly StoreMetric[];
  readonly evictions: number;
  readonly expirations: number;
  readonly untracked: number;
}

/** What `open` made of a loaded image (`MemoryStore#restoreReport`). */
export interface MemoryRestoreReport {
  /** When the image was taken (epoch ms, the saving store's clock). */
  readonly takenAt: number;
  /** Pairs restored. */
  readonly pairs: number;
  /** Pairs whose state expired while the store was down (not restored). */
  readonly expired: number;
  /** Pairs past this store's `maxTokens` (not restored). */
  readonly overCap: number;
  /** Metrics of the image that the config no longer has: their pairs were not restored. */
  readonly droppedMetrics: readonly string[];
  /** Pairs not restored because their metric was dropped. */
  readonly droppedPairs: number;
  /**
   * Metrics whose thresholds differ from the image's: their events are kept (the newest that
   * the largest limit needs), their bans by threshold index (a ban at an index the metric no
   * longer has is dropped).
   */
  readonly changedMetrics: readonly string[];
}

/** The image of `pairs` (tokens encoded), with the store's metrics and counters. */
export function memoryImage(
  takenAt: number,
  metrics: readonly StoreMetric[],
  counters: { evictions: number; expirations: number; untracked: number },
  pairs: MemoryPairs,
): StateImage {
  const { tokenChars, tokenEnds } = pairs;
  const meta: { [key: string]: StateMeta } = {
    format: IMAGE_FORMAT,
    version: IMAGE_VERSION,
    takenAt,
    metrics: metrics.map((metric) => ({
      name: metric.name,
      thresholds: metric.thresholds.map((t) => ({
        limit: t.limit,
        windowSeconds: t.windowSeconds,
        durationSeconds: t.durationSeconds,
        shadow: t.shadow === true,
      })),
    })),
    evictions: counters.evictions,
    expirations: counters.expirations,
    untracked: counters.untracked,
    highWater: pairs.highWater,
    hand: pairs.hand,
    evictionHand: pairs.evictionHand,
    clockLatest: Number.isFinite(pairs.clockLatest) ? pairs.clockLatest : null,
  };
  return {
    meta,
    arrays: {
      tokenChars,
      tokenEnds,
      pairSlot: pairs.pairSlot,
      pairFlags: pairs.pairFlags,
      pairMetric: pairs.pairMetric,
      pairExpires: pairs.pairExpires,
      ringCounts: pairs.ringCounts,
      ringTimes: pairs.ringTimes,
      bucketPairs: pairs.bucketPairs,
      bucketCounts: pairs.bucketCounts,
      bucketEpochs: pairs.bucketEpochs,
      banPairs: pairs.banPairs,
      banEnds: pairs.banEnds,
      freeSlots: pairs.freeSlots,
    },
  };
}

/**
 * Checks every part of an image and decodes its tokens: lengths that agree, times finite,
 * each ring in time order, whole bucket epochs, no (token, metric) pair twice, thresholds of
 * the kind a config makes. Throws `SnapshotError` naming the part.
 */
export function checkMemoryImage(image: unknown): MemoryImage {
  const r = new ImageReader(image, IMAGE_FORMAT, IMAGE_VERSION);
  const whole = { integer: true, min: 0 };
  const takenAt = r.number('takenAt');
  const metrics = checkMetrics(r.field('metrics'));
  const tokenEnds = r.array('tokenEnds', Uint32Array);
  const n = tokenEnds.length;
  const tokenChars = r.array('tokenChars', Uint16Array);
  const highWater = r.number('highWater', { integer: true, min: n, max: MAX_TOKENS });
  const pairSlot = r.array('pairSlot', Uint32Array, n);
  const pairFlags = r.array('pairFlags', Uint8Array, n);
  const freeSlots = r.array('freeSlots', Uint32Array, highWater - n);
  const hand = r.number('hand', { integer: true, min: 0, max: Math.max(0, highWater - 1) });
  const evictionHand = r.number('evictionHand', {
    integer: true,
    min: 0,
    max: Math.max(0, highWater - 1),
  });
  const latest = r.field('clockLatest');
  const clockLatest =
    latest === null ? Number.NEGATIVE_INFINITY : checkNumber('meta.clockLatest', latest);
  // Every slot below the high water is a pair's or free, once.
  const used = new Uint8Array(highWater);
  for (let k = 0; k < n; k++) {
    const slot = pairSlot[k]!;
    if (slot >= highWater || (k > 0 && slot <= pairSlot[k - 1]!)) {
      throw new SnapshotError(
        'arrays.pairSlot',
        `must be slots below ${highWater}, ascending (element ${k})`,
      );
    }
    used[slot] = 1;
    if (pairFlags[k]! > 3)
      throw new SnapshotError('arrays.pairFlags', `element ${k} is ${pairFlags[k]}`);
  }
  for (let j = 0; j < freeSlots.length; j++) {
    const slot = freeSlots[j]!;
    if (slot >= highWater || used[slot] === 1) {
      throw new SnapshotError(
        'arrays.freeSlots',
        `element ${j} (${slot}) is not a free slot below ${highWater} met once`,
      );
    }
    used[slot] = 1;
  }
  const pairMetric = r.array('pairMetric', Uint32Array, n);
  const pairExpires = r.array('pairExpires', Float64Array, n);
  const ringCounts = r.array('ringCounts', Uint32Array, n);
  let events = 0;
  for (let k = 0; k < n; k++) {
    if (pairMetric[k]! >= metrics.length) {
      throw new SnapshotError(
        'arrays.pairMetric',
        `pair ${k} names metric ${pairMetric[k]}, the image has ${metrics.length}`,
      );
    }
    if (!Number.isFinite(pairExpires[k]!)) {
      throw new SnapshotError('arrays.pairExpires', `pair ${k} expires at ${pairExpires[k]}`);
    }
    events += ringCounts[k]!;
  }
  const ringTimes = r.array('ringTimes', Float64Array, events);
  for (let k = 0, at = 0; k < n; k++) {
    const end = at + ringCounts[k]!;
    for (let previous = Number.NEGATIVE_INFINITY; at < end; at++) {
      const t = ringTimes[at]!;
      if (!Number.isFinite(t) || t < previous) {
        throw new SnapshotError(
          'arrays.ringTimes',
          `pair ${k}'s ring is not finite times in order (at ${at})`,
        );
      }
      previous = t;
    }
  }
  const bucketPairs = ascendingPairs(r.array('bucketPairs', Uint32Array), n, 'arrays.bucketPairs');
  const bucketCounts = r.array('bucketCounts', Uint32Array, bucketPairs.length * PER_BLOCK);
  const bucketEpochs = r.array('bucketEpochs', Float64Array, bucketPairs.length * WINDOWS);
  for (let i = 0; i < bucketEpochs.length; i++) {
    const epoch = bucketEpochs[i]!;
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new SnapshotError(
        'arrays.bucketEpochs',
        `element ${i} is ${epoch}, not a whole number ≥ 0`,
      );
    }
  }
  const banPairs = ascendingPairs(r.array('banPairs', Uint32Array), n, 'arrays.banPairs');
  let ends = 0;
  for (let j = 0; j < banPairs.length; j++)
    ends += metrics[pairMetric[banPairs[j]!]!]!.thresholds.length;
  const banEnds = r.array('banEnds', Float64Array, ends);
  for (let i = 0; i < ends; i++) {
    if (!(banEnds[i]! >= 0 && Number.isFinite(banEnds[i]!))) {
      throw new SnapshotError('arrays.banEnds', `element ${i} is ${banEnds[i]}`);
    }
  }
  const tokens = decodeTokens(tokenChars, tokenEnds);
  checkDistinct(tokenChars, tokenEnds, pairMetric);
  return {
    takenAt,
    metrics,
    evictions: r.number('evictions', whole),
    expirations: r.number('expirations', whole),
    untracked: r.number('untracked', whole),
    tokens,
    pairSlot,
    pairFlags,
    freeSlots,
    highWater,
    hand,
    evictionHand,
    clockLatest,
    pairMetric,
    pairExpires,
    ringCounts,
    ringTimes,
    bucketPairs,
    bucketCounts,
    bucketEpochs,
    banPairs,
    banEnds,
  };
}

/**
 * Refuses an image holding a (token, metric) pair twice. Hashes the code units straight from
 * the column, then places the pairs in an open-addressing index (src/tables/pair-index.ts) in
 * the order of their homes (`sortByHome`), comparing tokens only where the full hashes agree:
 * a `Set` of the decoded tokens took ~0.7 s at a million (each sliced string flattened and
 * hashed), arrival order ~0.23 s (a cache miss a pair).
 */
function checkDistinct(chars: Uint16Array, ends: Uint32Array, metrics: Uint32Array): void {
  const n = ends.length;
  let positions = 16;
  while (positions < n * 2) positions *= 2;
  const mask = positions - 1;
  const pairs = new Int32Array(n);
  const hashes = new Int32Array(n);
  let from = 0;
  for (let k = 0; k < n; k++) {
    const end = ends[k]!;
    let h = Math.imul(metrics[k]! + 1, 0x9e3779b1);
    for (let at = from; at < end; at++) h = Math.imul(h ^ chars[at]!, 0x01000193);
    pairs[k] = k + 1;
    hashes[k] = mix32(h ^ (end - from));
    from = end;
  }
  const sorted = sortByHome(pairs, hashes, n, mask);
  const index = new Int32Array(positions * 2);
  const startOf = (k: number) => (k === 0 ? 0 : ends[k - 1]!);
  for (let i = 0; i < n; i++) {
    const entry = sorted.entries[i]!;
    const hash = sorted.hashes[i]!;
    let at = hash & mask;
    for (; index[2 * at] !== 0; at = (at + 1) & mask) {
      if (index[2 * at + 1] !== hash) continue;
      const k = entry - 1;
      const other = index[2 * at]! - 1;
      const kFrom = startOf(k);
      const otherFrom = startOf(other);
      const length = ends[k]! - kFrom;
      if (metrics[other] !== metrics[k] || ends[other]! - otherFrom !== length) continue;
      let same = true;
      for (let c = 0; c < length && same; c++) same = chars[kFrom + c] === chars[otherFrom + c];
      if (same) {
        throw new SnapshotError(
          'arrays.tokenChars',
          `pair ${k} repeats pair ${other}'s token and metric`,
        );
      }
    }
    index[2 * at] = entry;
    index[2 * at + 1] = hash;
  }
}

function checkMetrics(value: StateMeta | undefined): StoreMetric[] {
  const names = new Set<string>();
  return checkArray('meta.metrics', value).map((item, m) => {
    const path = `meta.metrics[${m}]`;
    const metric = checkObject(path, item);
    if (typeof metric.name !== 'string' || names.has(metric.name)) {
      throw new SnapshotError(`${path}.name`, 'must be a string no other metric has');
    }
    names.add(metric.name);
    const thresholds = checkArray(`${path}.thresholds`, metric.thresholds).map((t, i) => {
      const at = `${path}.thresholds[${i}]`;
      const threshold = checkObject(at, t);
      if (typeof threshold.shadow !== 'boolean') {
        throw new SnapshotError(`${at}.shadow`, 'must be a boolean');
      }
      return {
        limit: checkNumber(`${at}.limit`, threshold.limit, {
          integer: true,
          min: 0,
          max: 0xffff_ffff,
        }),
        windowSeconds: checkNumber(`${at}.windowSeconds`, threshold.windowSeconds, { min: 0 }),
        durationSeconds: checkNumber(`${at}.durationSeconds`, threshold.durationSeconds, {
          min: 0,
        }),
        shadow: threshold.shadow,
      };
    });
    if (thresholds.length === 0) {
      throw new SnapshotError(`${path}.thresholds`, 'must hold at least one threshold');
    }
    return { name: metric.name, thresholds };
  });
}

function ascendingPairs(pairs: Uint32Array, n: number, path: string): Uint32Array {
  for (let j = 0; j < pairs.length; j++) {
    if (pairs[j]! >= n || (j > 0 && pairs[j]! <= pairs[j - 1]!)) {
      throw new SnapshotError(path, `must be pair numbers below ${n}, ascending (element ${j})`);
    }
  }
  return pairs;
}

/** Whether two metrics' thresholds are the same (name aside). */
export function sameThresholds(a: StoreMetric, b: StoreMetric): boolean {
  return (
    a.thresholds.length === b.thresholds.length &&
    a.thresholds.every((t, i) => {
      const u = b.thresholds[i]!;
      return (
        t.limit === u.limit &&
        t.windowSeconds === u.windowSeconds &&
        t.durationSeconds === u.durationSeconds &&
        (t.shadow === true) === (u.shadow === true)
      );
    })
  );
}

/** Tokens as one column of UTF-16 code units (lossless for any string, lone surrogates too). */
export function encodeTokens(tokens: readonly string[]): {
  tokenChars: Uint16Array;
  tokenEnds: Uint32Array;
} {
  let total = 0;
  for (const token of tokens) total += token.length;
  const tokenChars = new Uint16Array(total);
  const tokenEnds = new Uint32Array(tokens.length);
  let at = 0;
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    for (let i = 0; i < token.length; i++) tokenChars[at++] = token.charCodeAt(i);
    tokenEnds[k] = at;
  }
  return { tokenChars, tokenEnds };
}

/** Decoding chunk: `String.fromCharCode.apply` takes its arguments on the stack. */
const DECODE_CHUNK = 8192;

const UTF16 = new TextDecoder('utf-16le');

/** The widest code units of a token column: one-byte (all ≤ 0xFF), two-byte without
 *  surrogates, or holding a surrogate (perhaps a lone one). */
const LATIN1 = 0;
const WIDE = 1;
const SURROGATES = 2;

function widthOf(units: Uint16Array): number {
  let width = LATIN1;
  for (let i = 0; i < units.length; i++) {
    const unit = units[i]!;
    if (unit > 0xff) {
      if (unit >= 0xd800 && unit <= 0xdfff) return SURROGATES;
      width = WIDE;
    }
  }
  return width;
}

export function decodeTokens(tokenChars: Uint16Array, tokenEnds: Uint32Array): string[] {
  const tokens = new Array<string>(tokenEnds.length);
  // One decode of the whole column, then a slice per token (a String.fromCharCode per token
  // is several times slower at a million). A column of one-byte code units is decoded as
  // Latin-1, so the tokens are one-byte strings, as the ones a request brings are (half the
  // memory, and compared with them byte by byte); one with surrogates token by token, since
  // the UTF-16 decoder turns a lone surrogate into U+FFFD and a token may hold anything.
  let whole: string | undefined;
  const width = widthOf(tokenChars);
  if (width === LATIN1) {
    const bytes = Buffer.allocUnsafe(tokenChars.length);
    bytes.set(tokenChars);
    whole = bytes.toString('latin1');
  } else if (width === WIDE) whole = UTF16.decode(tokenChars);
  let from = 0;
  for (let k = 0; k < tokenEnds.length; k++) {
    const end = tokenEnds[k]!;
    if (end < from || end > tokenChars.length) {
      throw new SnapshotError(
        'arrays.tokenEnds',
        `element ${k} is ${end}, after ${from} and within ${tokenChars.length} needed`,
      );
    }
    if (whole !== undefined) tokens[k] = whole.slice(from, end);
    else {
      let token = '';
      for (let at = from; at < end; at += DECODE_CHUNK) {
        token += String.fromCharCode.apply(
          null,
          tokenChars.subarray(at, Math.min(end, at + DECODE_CHUNK)) as unknown as number[],
        );
      }
      tokens[k] = token;
    }
    from = end;
  }
  if (from !== tokenChars.length) {
    throw new SnapshotError(
      'arrays.tokenChars',
      `holds ${tokenChars.length} code units, the tokens ${from}`,
    );
  }
  return tokens;
}
