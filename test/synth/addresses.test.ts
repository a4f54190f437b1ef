import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIPv4 } from '../../src/ip/format.js';
import { normalizeIp } from '../../src/ip/normalize.js';
import { parseAddress } from '../../src/ip/parse.js';
import { Ipv4Space, Ipv6Space, permute32 } from '../../src/synth/addresses.js';

describe('permute32', () => {
  it('maps distinct inputs to distinct outputs (a bijection, sampled)', () => {
    const seen = new Set<number>();
    const count = 1 << 20;
    for (let i = 0; i < count; i++) seen.add(permute32(i, 0x1234, 0xabcdef));
    // Inputs spread over the whole space too: the top of the range and a stride.
    for (let i = 0; i < 1000; i++) seen.add(permute32(0xffff_ffff - i, 0x1234, 0xabcdef));
    for (let i = 0; i < 1000; i++) seen.add(permute32(0x10_0000 + i * 0x3f_ffff, 0x1234, 0xabcdef));
    expect(seen.size).toBe(count + 2000);
  });

  it('scatters neighbouring indexes', () => {
    const a = permute32(1000, 1, 2);
    const b = permute32(1001, 1, 2);
    let differing = a ^ b;
    let bits = 0;
    while (differing !== 0) {
      bits += differing & 1;
      differing >>>= 1;
    }
    expect(bits).toBeGreaterThan(6);
  });
});

describe('Ipv4Space', () => {
  it('is deterministic by seed and differs between seeds', () => {
    const a = new Ipv4Space(1);
    const b = new Ipv4Space(1);
    const c = new Ipv4Space(2);
    const texts = (s: Ipv4Space) => Array.from({ length: 20 }, (_, i) => s.text(i));
    expect(texts(a)).toEqual(texts(b));
    expect(texts(a)).not.toEqual(texts(c));
  });

  it('gives N distinct, valid addresses for indexes 0..N−1', () => {
    const space = new Ipv4Space(7);
    const words = new Set<number>();
    const out = new Uint32Array(4);
    for (let i = 0; i < 200_000; i++) {
      const word = space.word(i);
      words.add(word);
      if (i < 2000) {
        const text = space.text(i);
        expect(isIP(text)).toBe(4);
        expect(parseAddress(text, out)).toBe(4);
        expect(out[0]).toBe(word);
        expect(text).toBe(formatIPv4(word));
      }
    }
    expect(words.size).toBe(200_000);
  });

  it('spreads addresses over the first octet', () => {
    const space = new Ipv4Space(3);
    const firstOctets = new Set<number>();
    for (let i = 0; i < 10_000; i++) firstOctets.add(space.word(i) >>> 24);
    expect(firstOctets.size).toBe(256);
  });

  it('refuses indexes outside [0, 2^32)', () => {
    const space = new Ipv4Space(0);
    for (const index of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => space.word(index)).toThrow(RangeError);
    }
    expect(() => space.word(2 ** 32 - 1)).not.toThrow();
  });
});

describe('Ipv6Space', () => {
  it('gives distinct, canonical (RFC 5952) global-unicast addresses', () => {
    const space = new Ipv6Space(11);
    const texts = new Set<string>();
    let compressed = 0;
    let eui64 = 0;
    for (let i = 0; i < 100_000; i++) {
      const text = space.text(i);
      texts.add(text);
      if (text.includes('::')) compressed++;
      if (/ff:fe/.test(text)) eui64++;
      if (i < 3000) {
        expect(isIP(text)).toBe(6);
        expect(normalizeIp(text)).toBe(text);
        expect(text.startsWith('2') || text.startsWith('3')).toBe(true);
      }
    }
    expect(texts.size).toBe(100_000);
    // About a quarter each are hand-assigned (`…::n`) and EUI-64.
    expect(compressed / 100_000).toBeGreaterThan(0.2);
    expect(compressed / 100_000).toBeLessThan(0.3);
    expect(eui64 / 100_000).toBeGreaterThan(0.2);
    expect(eui64 / 100_000).toBeLessThan(0.3);
  });

  it('is deterministic by seed and writes words at an offset', () => {
    const a = new Ipv6Space(5);
    const b = new Ipv6Space(5);
    expect(a.text(123)).toBe(b.text(123));
    expect(a.text(123)).not.toBe(new Ipv6Space(6).text(123));
    const out = new Uint32Array(8);
    a.words(123, out, 4);
    const alone = new Uint32Array(4);
    a.words(123, alone);
    expect(Array.from(out.subarray(4))).toEqual(Array.from(alone));
  });
});
