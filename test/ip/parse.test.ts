import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress, parseAddressIn } from '../../src/ip/parse.js';

const out = new Uint32Array(4);

/** Pieces that address text and near-misses are made of. */
const piece = fc.oneof(
  fc.constantFrom(':', '::', '.', ':::', '%', '%eth0', '%a.b-c:d', '%_', ' ', '\t', '/24', 'x'),
  fc.stringMatching(/^[0-9a-fA-F]{0,5}$/),
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.constantFrom('0', '00', '01', '001', '255', '256', '0000', 'ffff', 'FFFF', '1.2.3.4'),
);
const soup = fc.array(piece, { maxLength: 18 }).map((parts) => parts.join(''));

const group = fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16));
/** Structurally plausible IPv6: groups, maybe a '::', maybe a dotted tail, maybe a zone. */
const ipv6ish = fc
  .record({
    left: fc.array(group, { maxLength: 9 }),
    right: fc.array(group, { maxLength: 9 }),
    compress: fc.boolean(),
    tail: fc.option(
      fc
        .array(fc.integer({ min: 0, max: 260 }), { minLength: 3, maxLength: 5 })
        .map((o) => o.join('.')),
    ),
    zone: fc.option(fc.stringMatching(/^[0-9a-zA-Z.:_%-]{0,4}$/)),
    upper: fc.boolean(),
  })
  .map(({ left, right, compress, tail, zone, upper }) => {
    let text = left.join(':');
    if (compress) text += `::${right.join(':')}`;
    if (tail !== null) text += (text.endsWith(':') || text === '' ? '' : ':') + tail;
    if (zone !== null) text += `%${zone}`;
    return upper ? text.toUpperCase() : text;
  });
const ipv4ish = fc
  .array(
    fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '')),
    { minLength: 2, maxLength: 6 },
  )
  .map((octets) => octets.join('.'));

/** Small edits of valid addresses: where parsers are most often wrong. */
const mutated = fc
  .tuple(
    fc.oneof(ipv6ish, ipv4ish),
    fc.nat(),
    fc.constantFrom('', ':', '.', '0', 'f', 'g', '%', ' '),
    fc.boolean(),
  )
  .map(([text, at, insert, replace]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    return text.slice(0, i) + insert + text.slice(replace ? i + 1 : i);
  });

describe('parseAddress accepts exactly what net.isIP accepts', () => {
  for (const [name, arbitrary] of [
    ['token soup', soup],
    ['IPv6-shaped text', ipv6ish],
    ['IPv4-shaped text', ipv4ish],
    ['one-character edits of addresses', mutated],
  ] as const) {
    it(name, () => {
      fc.assert(
        fc.property(arbitrary, (text) => {
          const family = parseAddress(text, out);
          const node = isIP(text);
          // The only difference: IPv4-mapped IPv6 is reported as IPv4.
          expect(family === 0 ? 0 : 1).toBe(node === 0 ? 0 : 1);
          if (node === 4) expect(family).toBe(4);
        }),
        { numRuns: 20_000 },
      );
    });
  }

  it('agrees on hand-picked edge cases', () => {
    const cases = [
      '0.0.0.0',
      '255.255.255.255',
      '256.0.0.0',
      '1.2.3.04',
      '1.2.3',
      '1.2.3.4.',
      '.1.2.3.4',
      '1..2.3',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4/32',
      '1.2.3.4%eth0',
      '::',
      ':::',
      '::1',
      '1::',
      ':1::',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::',
      '::1:2:3:4:5:6:7',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8::',
      '1::2::3',
      '00001::',
      '0001::',
      '1:2:3:4:5:6:1.2.3.4',
      '1:2:3:4:5::1.2.3.4',
      '1:2:3:4:5:6::1.2.3.4',
      '::1.2.3.4',
      '::ffff:1.2.3.4',
      '::ffff:01.2.3.4',
      '::1.2.3.4:1',
      'fe80::1%eth0',
      'fe80::1%',
      'fe80::1%a%b',
      'fe80::%a',
      '::%',
      'localhost',
      'example.com',
      '',
      '١.٢.٣.٤',
    ];
    for (const text of cases) {
      expect([text, parseAddress(text, out) === 0]).toEqual([text, isIP(text) === 0]);
    }
  });
});

describe('parseAddressIn reads only its range', () => {
  const inRange = new Uint32Array(4);
  // Surroundings that would change the answer if the scanner read past either end: more
  // digits, groups, a zone, a second address.
  const around = fc.constantFrom(
    '',
    ' ',
    '1',
    '9.9',
    ':',
    '::',
    'f',
    '%eth0',
    '.5',
    '"',
    '1.2.3.4',
  );
  it('answers for text[start, end) what parseAddress answers for the slice', () => {
    fc.assert(
      fc.property(
        around,
        fc.oneof(soup, ipv6ish, ipv4ish, mutated),
        around,
        (before, text, after) => {
          const whole = before + text + after;
          const family = parseAddressIn(whole, before.length, before.length + text.length, inRange);
          expect(family).toBe(parseAddress(text, out));
          if (family === 4) expect(inRange[0]).toBe(out[0]);
          if (family === 6) expect([...inRange]).toEqual([...out]);
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

describe('parseAddress words', () => {
  it('IPv4 is the big-endian 32-bit value', () => {
    expect(parseAddress('1.2.3.4', out)).toBe(4);
    expect(out[0]).toBe(0x01020304);
    expect(parseAddress('255.255.255.255', out)).toBe(4);
    expect(out[0]).toBe(0xffffffff);
  });

  it('every textual form of one IPv6 address gives the same words', () => {
    const forms = [
      '2001:db8::ff00:42:8329',
      '2001:0db8:0000:0000:0000:ff00:0042:8329',
      '2001:DB8:0:0:0:FF00:42:8329',
      '2001:db8:0::ff00:42:8329',
      '2001:db8::ff00:0.66.131.41',
      '2001:db8::ff00:42:8329%eth0',
    ];
    for (const text of forms) {
      expect(parseAddress(text, out)).toBe(6);
      expect(Array.from(out)).toEqual([0x20010db8, 0, 0x0000ff00, 0x00428329]);
    }
  });

  it('IPv4-mapped IPv6, in any spelling, is the IPv4 address', () => {
    for (const text of [
      '::ffff:1.2.3.4',
      '::FFFF:102:304',
      '0:0:0:0:0:ffff:1.2.3.4',
      '::ffff:0102:0304',
    ]) {
      expect(parseAddress(text, out)).toBe(4);
      expect(out[0]).toBe(0x01020304);
    }
    // Not mapped: the deprecated IPv4-compatible form and NAT64 stay IPv6.
    expect(parseAddress('::1.2.3.4', out)).toBe(6);
    expect(parseAddress('64:ff9b::1.2.3.4', out)).toBe(6);
  });
});
