import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseAddressIn } from '../../src/ip/parse.js';
import { IpTracker } from '../../src/tracker/ip-tracker.js';

const address = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((n) => `10.0.0.${n}`),
  fc.integer({ min: 0, max: 40 }).map((n) => `2001:db8::${n.toString(16)}`),
  fc.integer({ min: 0, max: 5 }).map((n) => `::ffff:10.0.0.${n}`),
);

describe('IpTracker#countAddress', () => {
  it('counts a parsed address exactly as requestHandled counts its text', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 300 }), (stream) => {
        const byText = new IpTracker({ topN: 20 });
        const byWords = new IpTracker({ topN: 20 });
        const words = new Uint32Array(4);
        // The addresses sit inside one longer string, as they do in a chunk of a log.
        const line = stream.map((ip) => `[${ip}]`).join('');
        let at = 0;
        for (const ip of stream) {
          byText.requestHandled(ip);
          const family = parseAddressIn(line, at + 1, at + 1 + ip.length, words);
          if (family === 0) throw new Error(`unparsed ${ip}`);
          byWords.countAddress(family, words);
          at += ip.length + 2;
        }
        expect(byWords.top(20)).toEqual(byText.top(20));
        expect(byWords.size).toBe(byText.size);
      }),
    );
  });

  it('refuses a family that is not 4 or 6', () => {
    const tracker = new IpTracker();
    expect(() => tracker.countAddress(0 as 4, new Uint32Array(4))).toThrow(ConfigError);
    expect(tracker.size).toBe(0);
  });
});
