import { ConfigError, quoteInput } from '../errors.js';
import { type AddressFamily, compareAddresses } from './address.js';
import { formatIPv4 } from './format.js';
import { parseAddress } from './parse.js';

/*
 * A set of CIDR ranges, answered by binary search over sorted, merged intervals.
 *
 * Building is allowed to be slow and to allocate (BigInt for the IPv6 arithmetic): it runs
 * once per configuration. Membership is the hot path: it reads typed arrays only, so checking
 * every request against an allow-list costs a parse and two short binary searches, and no
 * garbage.
 */

const V6_WORD_BITS = 32n;
const V6_WORD_MASK = 0xffff_ffffn;
const V6_ALL_ONES = (1n << 128n) - 1n;

// Scratch for parsing range text at build time and tokens in `hasText`.
const scratch = new Uint32Array(4);

function wordsToBigInt(words: Uint32Array, offset: number): bigint {
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << V6_WORD_BITS) | BigInt(words[offset + i]!);
  return value;
}

function writeBigInt(value: bigint, out: Uint32Array, offset: number): void {
  for (let i = 3; i >= 0; i--) {
    out[offset + i] = Number(value & V6_WORD_MASK);
    value >>= V6_WORD_BITS;
  }
}

/** Parses a decimal prefix length: digits only, no sign, no leading zero, at most `max`. */
function parsePrefix(text: string, max: number): number {
  if (text.length === 0 || text.length > 3) return -1;
  if (text.length > 1 && text.charCodeAt(0) === 48) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value <= max ? value : -1;
}

interface Range {
  readonly family: AddressFamily;
  readonly start: bigint;
  readonly end: bigint;
}

/** Parses one CIDR (or a bare address) into an inclusive range; throws `ConfigError`. */
function parseRange(entry: unknown, path: string): Range {
  if (typeof entry !== 'string') {
    throw new ConfigError(
      path,
      `expected a CIDR string such as "10.0.0.0/8", got ${quoteInput(entry)}`,
    );
  }
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  if (addressText.includes('%')) {
    throw new ConfigError(path, `${quoteInput(entry)} has a zone index, which a range cannot have`);
  }
  const family = parseAddress(addressText, scratch);
  if (family === 0) {
    throw new ConfigError(path, `${quoteInput(entry)} is not an IPv4 or IPv6 CIDR range`);
  }
  // An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) parses as IPv4; its prefix counts the
  // 96 bits of the mapping prefix, which IPv4 tokens never carry.
  const written6 = addressText.includes(':');
  const maxPrefix = written6 ? 128 : 32;
  let prefix = maxPrefix;
  if (slash !== -1) {
    prefix = parsePrefix(entry.slice(slash + 1), maxPrefix);
    if (prefix < 0) {
      throw new ConfigError(
        path,
        `${quoteInput(entry)} has an invalid prefix length (expected an integer from 0 to ${maxPrefix})`,
      );
    }
  }
  if (family === 4 && written6) {
    if (prefix < 96) {
      throw new ConfigError(
        path,
        `${quoteInput(entry)} is an IPv4-mapped range whose prefix (${prefix}) is shorter than the 96-bit mapping prefix`,
      );
    }
    prefix -= 96;
  }
  const bits = family === 4 ? 32n : 128n;
  const value = family === 4 ? BigInt(scratch[0]!) : wordsToBigInt(scratch, 0);
  const hostBits = bits - BigInt(prefix);
  const hostMask = (1n << hostBits) - 1n;
  if ((value & hostMask) !== 0n) {
    const all = family === 4 ? 0xffff_ffffn : V6_ALL_ONES;
    const start = value & (all ^ hostMask);
    throw new ConfigError(
      path,
      `${quoteInput(entry)} has host bits set beyond its /${slash === -1 ? maxPrefix : entry.slice(slash + 1)} prefix (the range starts at ${family === 4 ? formatIPv4(Number(start)) : 'a lower address'})`,
    );
  }
  return { family, start: value, end: value | hostMask };
}

/** Sorts and merges overlapping or adjacent ranges of one family. */
function merge(ranges: Range[]): { start: bigint; end: bigint }[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: { start: bigint; end: bigint }[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.start <= last.end + 1n) {
      if (range.end > last.end) last.end = range.end;
    } else {
      merged.push({ start: range.start, end: range.end });
    }
  }
  return merged;
}

/**
 * An immutable set of IPv4 and IPv6 CIDR ranges, for allow- and deny-lists.
 *
 * ```ts
 * const office = CidrSet.from(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'], 'allowList');
 * office.hasText('10.1.2.3'); // true
 * office.hasText('::ffff:10.1.2.3'); // true: an IPv4-mapped token is that IPv4 client
 * office.hasText('alice'); // false: a token that is not an address matches no range
 * ```
 *
 * A bare address is a /32 (IPv4) or /128 (IPv6) range. A range with host bits set
 * (`10.0.0.1/8`) is refused rather than silently widened: it is nearly always a typo.
 */
export class CidrSet {
  /** IPv4 intervals: start0, end0, start1, end1, … sorted and disjoint. */
  readonly #v4: Uint32Array;
  /** IPv6 intervals: 8 words each (start then end, big-endian words), sorted and disjoint. */
  readonly #v6: Uint32Array;

  private constructor(v4: Uint32Array, v6: Uint32Array) {
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /**
   * Builds a set from CIDR strings. Throws `ConfigError` naming `path[i]` for the first entry
   * that is not a valid range.
   */
  static from(entries: Iterable<string>, path = 'cidrs'): CidrSet {
    if (
      entries === null ||
      typeof entries !== 'object' ||
      typeof (entries as Iterable<string>)[Symbol.iterator] !== 'function'
    ) {
      throw new ConfigError(path, 'expected an array of CIDR strings');
    }
    const v4: Range[] = [];
    const v6: Range[] = [];
    let i = 0;
    for (const entry of entries) {
      const range = parseRange(entry, `${path}[${i}]`);
      (range.family === 4 ? v4 : v6).push(range);
      i++;
    }
    const merged4 = merge(v4);
    const words4 = new Uint32Array(merged4.length * 2);
    merged4.forEach((range, k) => {
      words4[2 * k] = Number(range.start);
      words4[2 * k + 1] = Number(range.end);
    });
    const merged6 = merge(v6);
    const words6 = new Uint32Array(merged6.length * 8);
    merged6.forEach((range, k) => {
      writeBigInt(range.start, words6, 8 * k);
      writeBigInt(range.end, words6, 8 * k + 4);
    });
    return new CidrSet(words4, words6);
  }

  /** Number of disjoint intervals after merging (IPv4 plus IPv6). */
  get intervalCount(): number {
    return this.#v4.length / 2 + this.#v6.length / 8;
  }

  /**
   * Whether a parsed address lies in the set: `family` and `words` as `parseAddress` leaves
   * them (IPv4 in `words[0]`, IPv6 in `words[0..3]`). Allocates nothing.
   */
  has(family: AddressFamily, words: Uint32Array): boolean {
    if (family === 4) {
      const ranges = this.#v4;
      const value = words[0]! >>> 0;
      // Last interval whose start ≤ value.
      let lo = 0;
      let hi = (ranges.length >> 1) - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (ranges[2 * mid]! <= value) lo = mid + 1;
        else hi = mid - 1;
      }
      return hi >= 0 && value <= ranges[2 * hi + 1]!;
    }
    const ranges = this.#v6;
    let lo = 0;
    let hi = (ranges.length >> 3) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compareAddresses(6, ranges, 8 * mid, 6, words, 0) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && compareAddresses(6, ranges, 8 * hi + 4, 6, words, 0) >= 0;
  }

  /** Whether a token in text form is an address inside the set; any other text is not. */
  hasText(token: string): boolean {
    const family = parseAddress(token, scratch);
    return family !== 0 && this.has(family, scratch);
  }
}
