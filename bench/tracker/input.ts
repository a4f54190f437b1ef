// Not public API: reached in the build, like everything of hitwarden's that a benchmark runs.
import { Ipv4Space, Ipv6Space } from '../../dist/synth/addresses.js';
import { Sfc32 } from '../../dist/synth/prng.js';
import { ZipfSampler } from '../../dist/synth/zipf.js';

/*
 * The input every contender gets, rebuilt from the seed inside each child before any timing:
 * pass 1 is addresses 0..N−1 once each, pass 2 is N requests whose ranks are drawn Zipf(s)
 * (rank k is address k−1, and the addresses themselves are random, so the heavy hitters are
 * scattered over the space).
 *
 * Every request is its own flat (sequential) string object, copied out of a Buffer the way
 * a socket or a log parser hands addresses over. Two things this avoids:
 * - template literals of 13+ characters make V8 *cons* strings, which a Map would have to
 *   flatten on first use — a cost no real request path pays;
 * - reusing one string object for every request from the same address would hand `Map` a
 *   hash that V8 caches in the string after the first lookup, for free on every repeat.
 */

export type Family = 4 | 6;

export interface Input {
  unique: string[];
  zipf: string[];
}

/** Writes the dotted quad of `word` into `out` from 0; returns the length. */
function writeIPv4(word: number, out: Buffer): number {
  let pos = 0;
  for (let shift = 24; shift >= 0; shift -= 8) {
    const octet = (word >>> shift) & 255;
    if (octet >= 100) out[pos++] = 48 + Math.floor(octet / 100);
    if (octet >= 10) out[pos++] = 48 + (Math.floor(octet / 10) % 10);
    out[pos++] = 48 + (octet % 10);
    if (shift > 0) out[pos++] = 46;
  }
  return pos;
}

export function buildInput(family: Family, n: number, seed: number, zipfExponent = 1): Input {
  const scratch = Buffer.allocUnsafe(64);
  let textAt: (index: number) => string;
  if (family === 4) {
    const space = new Ipv4Space(seed);
    textAt = (index) => scratch.toString('latin1', 0, writeIPv4(space.word(index), scratch));
  } else {
    const space = new Ipv6Space(seed);
    textAt = (index) => scratch.toString('latin1', 0, scratch.write(space.text(index), 'latin1'));
  }
  const unique = new Array<string>(n);
  for (let i = 0; i < n; i++) unique[i] = textAt(i);
  const sampler = new ZipfSampler(n, zipfExponent, new Sfc32(seed + 1));
  const zipf = new Array<string>(n);
  for (let i = 0; i < n; i++) zipf[i] = textAt(sampler.sample() - 1);
  return { unique, zipf };
}
