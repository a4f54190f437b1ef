import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { CidrSet } from '../../src/ip/cidr-set.js';
import { formatIPv4, formatIPv6 } from '../../src/ip/format.js';
import { parseAddress } from '../../src/ip/parse.js';

/** A range as the oracle sees it: family, the network's words, and the prefix length. */
interface Cidr {
  family: 4 | 6;
  words: number[];
  prefix: number;
}

/** Clears every bit after `prefix` in big-endian words. */
function maskWords(words: number[], prefix: number): number[] {
  return words.map((word, i) => {
    const keep = Math.max(0, Math.min(32, prefix - 32 * i));
    if (keep === 0) return 0;
    if (keep === 32) return word >>> 0;
    return (word & ~((1 << (32 - keep)) - 1)) >>> 0;
  });
}

function cidrText(cidr: Cidr): string {
  const address =
    cidr.family === 4 ? formatIPv4(cidr.words[0]!) : formatIPv6(Uint32Array.from(cidr.words));
  return `${address}/${cidr.prefix}`;
}

/** Brute force: compare the first `prefix` bits one at a time. */
function inCidr(cidr: Cidr, family: 4 | 6, words: Uint32Array): boolean {
  if (family !== cidr.family) return false;
  for (let bit = 0; bit < cidr.prefix; bit++) {
    const word = bit >> 5;
    const shift = 31 - (bit & 31);
    if (((cidr.words[word]! >>> shift) & 1) !== ((words[word]! >>> shift) & 1)) return false;
  }
  return true;
}

const word = fc.integer({ min: 0, max: 0xffff_ffff });
const cidr4 = fc
  .record({ w: word, prefix: fc.integer({ min: 0, max: 32 }) })
  .map(({ w, prefix }): Cidr => ({ family: 4, words: maskWords([w], prefix), prefix }));
// The first word is kept non-zero so a random range never lands in ::ffff:0:0/96, which the
// parser reports as IPv4 (tested on its own below).
const cidr6 = fc
  .record({
    w: fc.tuple(fc.integer({ min: 1, max: 0xffff_ffff }), word, word, word),
    prefix: fc.integer({ min: 1, max: 128 }),
  })
  .map(({ w, prefix }): Cidr => ({ family: 6, words: maskWords(w, prefix), prefix }));

describe('CidrSet', () => {
  it('matches IPv4 and IPv6 ranges and bare addresses', () => {
    const set = CidrSet.from(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', '::1']);
    expect(set.hasText('10.255.0.1')).toBe(true);
    expect(set.hasText('11.0.0.0')).toBe(false);
    expect(set.hasText('9.255.255.255')).toBe(false);
    expect(set.hasText('192.0.2.7')).toBe(true);
    expect(set.hasText('192.0.2.8')).toBe(false);
    expect(set.hasText('2001:db8:ffff::1')).toBe(true);
    expect(set.hasText('2001:db9::')).toBe(false);
    expect(set.hasText('::1')).toBe(true);
    expect(set.hasText('::2')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 tokens against IPv4 ranges, and mapped ranges against IPv4', () => {
    const set = CidrSet.from(['10.0.0.0/8', '::ffff:192.168.0.0/112']);
    expect(set.hasText('::ffff:10.1.2.3')).toBe(true);
    expect(set.hasText('::ffff:11.1.2.3')).toBe(false);
    expect(set.hasText('192.168.4.5')).toBe(true);
    expect(set.hasText('192.169.4.5')).toBe(false);
  });

  it('lets text that is not an address match nothing', () => {
    const set = CidrSet.from(['0.0.0.0/0', '::/0']);
    for (const token of ['alice', '', '__proto__', '1.2.3', '1.2.3.4/8', 'x'.repeat(100_000)]) {
      expect(set.hasText(token)).toBe(false);
    }
    expect(set.hasText('255.255.255.255')).toBe(true);
    expect(set.hasText('ffff::')).toBe(true);
  });

  it('is empty when built from nothing', () => {
    const set = CidrSet.from([]);
    expect(set.hasText('1.2.3.4')).toBe(false);
    expect(set.hasText('::1')).toBe(false);
    expect(set.intervalCount).toBe(0);
  });

  it('merges overlapping and adjacent ranges', () => {
    const set = CidrSet.from([
      '10.0.0.0/9',
      '10.128.0.0/9',
      '10.1.0.0/16',
      '2001:db8::/33',
      '2001:db8:8000::/33',
    ]);
    expect(set.intervalCount).toBe(2);
  });

  it.each([
    ['10.0.0.0/33', 'invalid prefix length'],
    ['10.0.0.0/', 'invalid prefix length'],
    ['10.0.0.0/08', 'invalid prefix length'],
    ['10.0.0.0/-1', 'invalid prefix length'],
    ['10.0.0.0/+8', 'invalid prefix length'],
    ['2001:db8::/129', 'invalid prefix length'],
    ['10.0.0.1/8', 'host bits set'],
    ['2001:db8::1/32', 'host bits set'],
    ['10.0.0/8', 'not an IPv4 or IPv6'],
    ['', 'not an IPv4 or IPv6'],
    ['fe80::/10%eth0', 'invalid prefix length'],
    ['fe80::%eth0/10', 'zone index'],
    ['::ffff:10.0.0.0/95', 'mapping prefix'],
  ])('rejects %j naming the path and the rule (%s)', (entry, rule) => {
    let error: unknown;
    try {
      CidrSet.from(['1.2.3.4', entry], 'allowList');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('allowList[1]');
    expect((error as ConfigError).message).toContain(rule);
  });

  it('rejects entries that are not strings and lists that are not iterable', () => {
    expect(() => CidrSet.from([42 as unknown as string], 'denyList')).toThrow(/denyList\[0\]/);
    expect(() => CidrSet.from(null as unknown as string[], 'denyList')).toThrow(ConfigError);
  });

  it('agrees with a bitwise brute-force check on random ranges and addresses', () => {
    const address = (cidrs: Cidr[]) =>
      fc.oneof(
        fc.record({ family: fc.constant(4 as const), words: fc.tuple(word) }),
        fc.record({
          family: fc.constant(6 as const),
          words: fc.tuple(fc.integer({ min: 1, max: 0xffff_ffff }), word, word, word),
        }),
        // Near a range: its network with some low bits flipped, so hits and near-misses occur.
        ...(cidrs.length === 0
          ? []
          : [
              fc
                .record({
                  index: fc.nat(cidrs.length - 1),
                  flip: fc.integer({ min: 0, max: 127 }),
                  delta: fc.integer({ min: -1, max: 1 }),
                })
                .map(({ index, flip, delta }) => {
                  const cidr = cidrs[index]!;
                  const words = [...cidr.words];
                  const bits = cidr.family === 4 ? 32 : 128;
                  const bit = flip % bits;
                  const w = bit >> 5;
                  words[w] = (words[w]! ^ (1 << (31 - (bit & 31)))) >>> 0;
                  const last = words.length - 1;
                  words[last] = (words[last]! + delta) >>> 0;
                  return { family: cidr.family, words };
                }),
            ]),
      );
    fc.assert(
      fc.property(
        fc
          .array(fc.oneof(cidr4, cidr6), { maxLength: 12 })
          .chain((cidrs) =>
            fc.tuple(fc.constant(cidrs), fc.array(address(cidrs), { minLength: 1, maxLength: 30 })),
          ),
        ([cidrs, addresses]) => {
          const set = CidrSet.from(cidrs.map(cidrText));
          const words = new Uint32Array(4);
          for (const candidate of addresses) {
            words.set(candidate.words);
            const expected = cidrs.some((cidr) => inCidr(cidr, candidate.family, words));
            expect(set.has(candidate.family, words)).toBe(expected);
            // The text path agrees too (through the parser and its scratch).
            const text =
              candidate.family === 4
                ? formatIPv4(candidate.words[0]!)
                : formatIPv6(Uint32Array.from(candidate.words));
            const parsed = new Uint32Array(4);
            const family = parseAddress(text, parsed);
            if (family === candidate.family) expect(set.hasText(text)).toBe(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
