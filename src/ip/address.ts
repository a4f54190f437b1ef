/**
 * Compact numeric form of an IP address, shared by the parser, the formatter and every
 * table that stores addresses.
 *
 * An address is a family plus words in a caller-owned `Uint32Array`:
 * - IPv4: `words[0]` holds the address as an unsigned 32-bit integer (`1.2.3.4` → 0x01020304).
 * - IPv6: `words[0..3]` hold the 128 bits, most significant word first.
 *
 * IPv4-mapped IPv6 (`::ffff:0:0/96`) is reported as IPv4: it *is* that IPv4 client, seen
 * through a dual-stack socket.
 */
export type AddressFamily = 4 | 6;

/** What a parse returns when the text is not an address. */
export const NOT_AN_ADDRESS = 0;

export type ParseResult = AddressFamily | typeof NOT_AN_ADDRESS;

/**
 * Orders two addresses: IPv4 before IPv6, then numerically. Returns <0, 0 or >0.
 * `a` and `b` may be the same array with different offsets.
 */
export function compareAddresses(
  familyA: AddressFamily,
  a: Uint32Array,
  offsetA: number,
  familyB: AddressFamily,
  b: Uint32Array,
  offsetB: number,
): number {
  if (familyA !== familyB) return familyA - familyB;
  const words = familyA === 4 ? 1 : 4;
  for (let i = 0; i < words; i++) {
    const x = a[offsetA + i]!;
    const y = b[offsetB + i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
