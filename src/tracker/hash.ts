import { mix32 } from '../tables/mix.js';

/*
 * Seeded 32-bit hashes of addresses, for the address tables and the top-K index. The seed
 * and the mixing are the ones every table shares (src/tables/mix.ts).
 */

export function hashIPv4(word: number, seed: number): number {
  return mix32(word ^ seed);
}

export function hashIPv6(words: Uint32Array, offset: number, seed: number): number {
  const h =
    Math.imul(words[offset]! ^ seed, 0x9e3779b1) +
    Math.imul(words[offset + 1]!, 0x85ebca77) +
    Math.imul(words[offset + 2]!, 0xc2b2ae3d) +
    Math.imul(words[offset + 3]!, 0x27d4eb2f);
  return mix32(h ^ seed);
}
