import { formatIPv4, formatIPv6 } from '../ip/format.js';
import { splitMix32 } from './prng.js';

/*
 * Distinct pseudo-random addresses by index, without a dedupe set: address i is a keyed
 * bijection of i, so indexes 0..N−1 give N distinct addresses for any N ≤ 2^32, in O(1)
 * memory, and any index can be regenerated on its own (a Zipf rank k is simply address k−1).
 */

/** The keys of one address space, derived from its seed. */
function keysFor(seed: number, count: number): Uint32Array {
  const keys = new Uint32Array(count);
  let counter = Math.trunc(seed) | 0;
  for (let i = 0; i < count; i++) {
    counter = (counter + 0x9e3779b9) | 0;
    keys[i] = splitMix32(counter);
  }
  return keys;
}

/**
 * A keyed permutation of the 32-bit integers. Every step is invertible — xor with a
 * constant, `x ^= x >>> r`, multiplication by an odd constant modulo 2^32 — so the whole is a
 * bijection; two rounds with different keys scatter neighbouring indexes across the space.
 */
export function permute32(index: number, key0: number, key1: number): number {
  let x = index ^ key0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  x ^= (x >>> 15) ^ key1;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new RangeError(`address index must be an integer in [0, 2^32), got ${index}`);
  }
}

/**
 * IPv4 addresses spread uniformly over the whole 32-bit space (reserved ranges included:
 * a tracker must count those too).
 *
 * ```ts
 * const space = new Ipv4Space(42);
 * space.text(0); // the same dotted quad for seed 42, every time
 * ```
 */
export class Ipv4Space {
  private readonly key0: number;
  private readonly key1: number;

  constructor(seed: number) {
    const keys = keysFor(seed, 2);
    this.key0 = keys[0]!;
    this.key1 = keys[1]!;
  }

  /** Address `index` as an unsigned 32-bit integer (`1.2.3.4` is 0x01020304). */
  word(index: number): number {
    checkIndex(index);
    return permute32(index, this.key0, this.key1);
  }

  /** Address `index` as dotted-quad text. */
  text(index: number): string {
    return formatIPv4(this.word(index));
  }
}

/**
 * IPv6 addresses shaped like real clients' — a global-unicast /64 prefix (`2xxx:…`) plus an
 * interface identifier that is, by turns, random (privacy addresses, half of them), small and
 * hand-assigned (`…::1f`, a quarter, so the text has a `::`), or EUI-64 derived (`…ff:fe…`,
 * a quarter). Distinct indexes give distinct addresses: the prefix's second word is a
 * bijection of the index.
 */
export class Ipv6Space {
  private readonly keys: Uint32Array;
  private readonly scratch = new Uint32Array(4);

  constructor(seed: number) {
    this.keys = keysFor(seed, 6);
  }

  /** Writes address `index` into `out[offset..offset+3]`, most significant word first. */
  words(index: number, out: Uint32Array, offset = 0): void {
    checkIndex(index);
    const k = this.keys;
    const unique = permute32(index, k[0]!, k[1]!);
    const r1 = permute32(index, k[2]!, k[3]!);
    const r2 = permute32(index, k[4]!, k[5]!);
    const r3 = splitMix32(r1 ^ r2);
    out[offset] = (0x2000_0000 | (r1 >>> 3)) >>> 0; // 2000::/3, global unicast
    out[offset + 1] = unique;
    switch (r3 & 3) {
      case 0: // hand-assigned host number
        out[offset + 2] = 0;
        out[offset + 3] = (r2 & 0xfff) + 1;
        break;
      case 1: // EUI-64: 24 bits, ff:fe, 24 bits
        out[offset + 2] = ((r2 & 0xffff_ff00) | 0xff) >>> 0;
        out[offset + 3] = (0xfe00_0000 | (r3 >>> 8)) >>> 0;
        break;
      default: // random (privacy extension)
        out[offset + 2] = r2;
        out[offset + 3] = r3;
    }
  }

  /** Address `index` as canonical RFC 5952 text. */
  text(index: number): string {
    this.words(index, this.scratch);
    return formatIPv6(this.scratch);
  }
}
