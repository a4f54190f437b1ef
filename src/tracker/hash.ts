/*
 * Seeded 32-bit hashes of addresses. The seed is drawn per table so that a client who can
 * pick its source addresses (anyone holding an IPv6 /64 can) cannot precompute a set that
 * piles onto one probe chain; the mixing is murmur3's finaliser, which spreads sequential
 * addresses (a /24 scan) across the table.
 */

// Hashes are signed 32-bit integers, never widened to unsigned: V8 keeps an int32 unboxed
// when it crosses a call that was not inlined, but boxes a value above 2^31 − 1 into a
// fresh heap number — garbage on every request for half of all hashes.
function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export function hashIPv4(word: number, seed: number): number {
  return finalize(word ^ seed);
}

export function hashIPv6(words: Uint32Array, offset: number, seed: number): number {
  const h =
    Math.imul(words[offset]! ^ seed, 0x9e3779b1) +
    Math.imul(words[offset + 1]!, 0x85ebca77) +
    Math.imul(words[offset + 2]!, 0xc2b2ae3d) +
    Math.imul(words[offset + 3]!, 0x27d4eb2f);
  return finalize(h ^ seed);
}

/** A fresh random seed; not cryptographic, only unguessable enough to deny precomputation. */
export function randomSeed(): number {
  return (Math.random() * 0x1_0000_0000) | 0;
}
