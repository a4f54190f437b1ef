import type { AddressFamily } from './address.js';

/** Dotted-quad text of an unsigned 32-bit IPv4 address. */
export function formatIPv4(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
}

/**
 * RFC 5952 text of an IPv6 address held as four 32-bit words: lower-case hex, no leading
 * zeros, the longest run of two or more zero groups (the first, on a tie) written as `::`.
 *
 * Addresses with an embedded IPv4 other than the mapped range (which the parser turns into
 * IPv4 before it gets here) are written in plain hex: RFC 5952 §5 leaves the dotted form to
 * applications that know the prefix's meaning.
 */
export function formatIPv6(words: Uint32Array, offset = 0): string {
  const group = (g: number) => {
    const word = words[offset + (g >> 1)]!;
    return (g & 1) === 0 ? word >>> 16 : word & 0xffff;
  };
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  for (let g = 0; g < 8; ) {
    if (group(g) !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && group(end) === 0) end++;
    if (end - g > bestLength) {
      bestStart = g;
      bestLength = end - g;
    }
    g = end;
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += g === 0 ? '::' : ':';
      g += bestLength - 1;
      continue;
    }
    text += group(g).toString(16);
    if (g < 7) text += ':';
  }
  return text;
}

/** Canonical text of an address in the compact form of `./address.ts`. */
export function formatAddress(family: AddressFamily, words: Uint32Array, offset = 0): string {
  return family === 4 ? formatIPv4(words[offset]!) : formatIPv6(words, offset);
}
