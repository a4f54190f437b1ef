/*
 * The mixing and seeding shared by every hashed table in the package (the tracker's address
 * tables and top-K index, the memory store's (token, metric) index).
 *
 * A table's seed is drawn at random when it is made, so a client who can pick its keys
 * (anyone holding an IPv6 /64 can pick addresses; anyone can pick tokens) cannot precompute
 * a set that piles onto one probe chain.
 */

/**
 * Murmur3's 32-bit finaliser: each input bit flips each output bit with probability close
 * to 1/2, so the low bits that pick a table position depend on every bit of the key, and
 * sequential keys (a /24 scan, `user1`, `user2` …) spread over the table.
 *
 * The result is a signed 32-bit integer, never widened to unsigned: V8 keeps an int32
 * unboxed when it crosses a call that was not inlined, but boxes a value above 2^31 − 1 into
 * a fresh heap number — garbage on every request for half of all hashes.
 */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A fresh random seed; not cryptographic, only unguessable enough to deny precomputation. */
export function randomSeed(): number {
  return (Math.random() * 0x1_0000_0000) | 0;
}
