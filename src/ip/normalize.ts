import { InvalidIpError } from '../errors.js';
import type { AddressFamily } from './address.js';
import { formatAddress } from './format.js';
import { parseAddress } from './parse.js';

const scratch = new Uint32Array(4);

/** Throws `InvalidIpError` unless `input` is IPv4 or IPv6 text; returns its family and
 *  leaves the words in `out`. The boundary check every public entry point shares. */
export function parseAddressOrThrow(input: unknown, out: Uint32Array): AddressFamily {
  if (typeof input !== 'string') throw new InvalidIpError(input, 'expected a string');
  const family = parseAddress(input, out);
  if (family === 0) throw new InvalidIpError(input);
  return family;
}

/**
 * The canonical text of an address: IPv4 dotted quad (also for IPv4-mapped IPv6), IPv6 in
 * RFC 5952 form, zone index dropped. Throws `InvalidIpError` for anything else.
 *
 * ```ts
 * normalizeIp('::FFFF:1.2.3.4'); // '1.2.3.4'
 * normalizeIp('2001:DB8:0:0:0:0:0:1'); // '2001:db8::1'
 * ```
 */
export function normalizeIp(input: string): string {
  const family = parseAddressOrThrow(input, scratch);
  return formatAddress(family, scratch);
}
