import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidIpError } from '../../src/errors.js';
import { formatIPv4, formatIPv6 } from '../../src/ip/format.js';
import { normalizeIp } from '../../src/ip/normalize.js';
import { parseAddress } from '../../src/ip/parse.js';

/** RFC 5952 by brute force: try every run of zero groups, keep the longest (first on a tie). */
function rfc5952(groups: number[]): string {
  let best: [number, number] | undefined;
  for (let start = 0; start < 8; start++) {
    for (let end = start + 2; end <= 8; end++) {
      const run = groups.slice(start, end);
      if (run.some((g) => g !== 0)) break;
      if (best === undefined || end - start > best[1] - best[0]) best = [start, end];
    }
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === undefined) return hex.join(':');
  return `${hex.slice(0, best[0]).join(':')}::${hex.slice(best[1]).join(':')}`;
}

/** Groups biased toward zeros so that runs and ties are common. */
const groups = fc.array(
  fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
  {
    minLength: 8,
    maxLength: 8,
  },
);

function wordsOf(g: number[]): Uint32Array {
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = (g[2 * i]! << 16) | g[2 * i + 1]!;
  return words;
}

describe('formatIPv6', () => {
  it('writes RFC 5952 text (checked against a brute-force oracle)', () => {
    fc.assert(
      fc.property(groups, (g) => {
        expect(formatIPv6(wordsOf(g))).toBe(rfc5952(g));
      }),
      { numRuns: 20_000 },
    );
  });

  it('round-trips through the parser', () => {
    const out = new Uint32Array(4);
    fc.assert(
      fc.property(groups, (g) => {
        const words = wordsOf(g);
        const text = formatIPv6(words);
        expect(isIP(text)).toBe(6);
        const family = parseAddress(text, out);
        if (family === 6) expect(Array.from(out)).toEqual(Array.from(words));
        else expect([words[0], words[1], words[2]]).toEqual([0, 0, 0xffff]); // mapped
      }),
      { numRuns: 5_000 },
    );
  });

  it('matches the RFC examples', () => {
    expect(normalizeIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeIp('2001:0db8:0:0:0:0:2:1')).toBe('2001:db8::2:1');
    expect(normalizeIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeIp('::')).toBe('::');
    expect(normalizeIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(normalizeIp('1:0:0:0:0:0:0:0')).toBe('1::');
  });
});

describe('normalizeIp', () => {
  it('formats IPv4 and unwraps IPv4-mapped IPv6', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (word) => {
        const text = formatIPv4(word);
        expect(isIP(text)).toBe(4);
        expect(normalizeIp(text)).toBe(text);
        expect(normalizeIp(`::ffff:${text}`)).toBe(text);
        expect(
          normalizeIp(`::FFFF:${(word >>> 16).toString(16)}:${(word & 0xffff).toString(16)}`),
        ).toBe(text);
      }),
    );
  });

  it('throws InvalidIpError quoting the input', () => {
    expect(() => normalizeIp('1.2.3.256')).toThrow(InvalidIpError);
    expect(() => normalizeIp('1.2.3.256')).toThrow('"1.2.3.256"');
    expect(() => normalizeIp(42 as unknown as string)).toThrow('expected a string');
    const huge = 'x'.repeat(1_000_000);
    expect(() => normalizeIp(huge)).toThrow('(1000000 characters)');
  });
});
