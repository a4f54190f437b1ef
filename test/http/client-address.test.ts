import { isIP, isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { ClientAddress } from '../../src/http/client-address.js';

const TRUSTED = ['10.0.0.0/8', '127.0.0.1', '2001:db8:ffff::/48', '::1'];

describe('ClientAddress: who the client is', () => {
  const clients = new ClientAddress({ trustProxy: TRUSTED });

  it('is the socket peer when the peer is not a trusted proxy, whatever the header says', () => {
    expect(clients.resolve('198.51.100.1', '203.0.113.7')).toBe('198.51.100.1');
    expect(clients.resolve('198.51.100.1', ['203.0.113.7', '10.0.0.1'])).toBe('198.51.100.1');
    expect(clients.resolve('198.51.100.1', undefined)).toBe('198.51.100.1');
    // With no trusted proxy at all, the header is never read.
    expect(new ClientAddress().resolve('10.0.0.1', '203.0.113.7')).toBe('10.0.0.1');
  });

  it('behind a trusted proxy, is the right-most entry that is not itself trusted', () => {
    expect(clients.resolve('10.0.0.5', '203.0.113.7')).toBe('203.0.113.7');
    expect(clients.resolve('10.0.0.5', '198.51.100.9, 203.0.113.7, 10.1.2.3, 127.0.0.1')).toBe(
      '203.0.113.7',
    );
    // Everything left of the first untrusted entry is the client's own say, and ignored.
    expect(clients.resolve('10.0.0.5', 'spoofed, 1.1.1.1, 203.0.113.7')).toBe('203.0.113.7');
  });

  it('is the left-most entry when every entry is trusted, and the peer when there is none', () => {
    expect(clients.resolve('10.0.0.5', '10.9.9.9, 10.0.0.7')).toBe('10.9.9.9');
    expect(clients.resolve('10.0.0.5', undefined)).toBe('10.0.0.5');
    expect(clients.resolve('10.0.0.5', '')).toBe('10.0.0.5');
    expect(clients.resolve('10.0.0.5', [])).toBe('10.0.0.5');
  });

  it('joins several header lines in order', () => {
    expect(clients.resolve('10.0.0.5', ['203.0.113.7', '10.0.0.6, 10.0.0.7'])).toBe('203.0.113.7');
    expect(clients.resolve('10.0.0.5', ['203.0.113.7, 198.51.100.2', '10.0.0.6'])).toBe(
      '198.51.100.2',
    );
    expect(clients.resolve('10.0.0.5', ['10.0.0.8', '', '10.0.0.6'])).toBe('10.0.0.8');
  });

  it('stops at a malformed entry: the client is the trusted hop that forwarded it', () => {
    expect(clients.resolve('10.0.0.5', 'unknown')).toBe('10.0.0.5');
    expect(clients.resolve('10.0.0.5', '203.0.113.7, garbage, 10.0.0.9')).toBe('10.0.0.9');
    expect(clients.resolve('10.0.0.5', ['203.0.113.7', 'x1', '10.0.0.9'])).toBe('10.0.0.9');
    for (const junk of [
      '1.2.3',
      '1.2.3.4:',
      '1.2.3.4:99999',
      '[::1',
      '[1.2.3.4]',
      '::g',
      '1.2.3.4%eth0',
    ]) {
      expect(clients.resolve('10.0.0.5', `203.0.113.7, ${junk}`), junk).toBe('10.0.0.5');
    }
  });

  it('skips empty list members', () => {
    expect(clients.resolve('10.0.0.5', '203.0.113.7,, ,\t,')).toBe('203.0.113.7');
  });

  it('reads ports, brackets, spaces and zones', () => {
    expect(clients.resolve('10.0.0.5', '203.0.113.7:5678')).toBe('203.0.113.7');
    expect(clients.resolve('10.0.0.5', ' \t203.0.113.7\t ')).toBe('203.0.113.7');
    expect(clients.resolve('10.0.0.5', '[2001:db8:1:2::1]:443')).toBe('2001:db8:1:2::/64');
    expect(clients.resolve('10.0.0.5', '[2001:db8:1:2::1]')).toBe('2001:db8:1:2::/64');
    expect(clients.resolve('10.0.0.5', '2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clients.resolve('10.0.0.5', 'fe80::1%eth0')).toBe('fe80::/64');
    expect(clients.resolve('10.0.0.5', 'fe80::1%weird/zone name')).toBe('fe80::/64');
    expect(clients.resolve('10.0.0.5', '[fe80::1%25eth0]:80')).toBe('fe80::/64');
    expect(clients.resolve('10.0.0.5', '[::ffff:203.0.113.7]:80')).toBe('203.0.113.7');
    // A trusted proxy written with a port is still trusted.
    expect(clients.resolve('10.0.0.5', '203.0.113.7, 10.0.0.9:1234')).toBe('203.0.113.7');
  });

  it('is undefined when the socket has no address', () => {
    expect(clients.resolve(undefined, '203.0.113.7')).toBeUndefined();
    expect(clients.resolve('', '203.0.113.7')).toBeUndefined();
  });
});

describe('ClientAddress: tokens', () => {
  it('makes IPv4-mapped IPv6 the IPv4 client, as the socket and as a header entry', () => {
    const clients = new ClientAddress({ trustProxy: ['::ffff:10.0.0.0/104'] });
    expect(clients.resolve('::ffff:1.2.3.4', undefined)).toBe('1.2.3.4');
    expect(clients.resolve('::FFFF:1.2.3.4', undefined)).toBe(
      clients.resolve('1.2.3.4', undefined),
    );
    // A dual-stack server sees its IPv4 proxy as ::ffff:10.0.0.5, and trusts it.
    expect(clients.resolve('::ffff:10.0.0.5', '::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clients.resolve('10.0.0.5', '203.0.113.7')).toBe('203.0.113.7');
  });

  it('groups IPv6 clients by their /64: 1,000 addresses of one /64 are one token', () => {
    const clients = new ClientAddress();
    const tokens = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const host = `${((i * 7919) & 0xffff).toString(16)}:${i.toString(16)}:abcd:${(i * 31).toString(16)}`;
      tokens.add(clients.resolve(`2001:db8:1:2:${host}`, undefined)!);
    }
    expect([...tokens]).toEqual(['2001:db8:1:2::/64']);
    expect(clients.resolve('2001:db8:1:3::1', undefined)).toBe('2001:db8:1:3::/64');
  });

  it('cuts to the configured prefix, or keeps the whole address with false (or 128)', () => {
    const address = '2001:DB8:1:2:3:4:5:6';
    expect(new ClientAddress({ ipv6Subnet: 48 }).resolve(address, undefined)).toBe(
      '2001:db8:1::/48',
    );
    expect(new ClientAddress({ ipv6Subnet: 56 }).resolve('2001:db8:1:2ff::', undefined)).toBe(
      '2001:db8:1:200::/56',
    );
    expect(new ClientAddress({ ipv6Subnet: 1 }).resolve(address, undefined)).toBe('::/1');
    expect(new ClientAddress({ ipv6Subnet: 1 }).resolve('8000::1', undefined)).toBe('8000::/1');
    expect(new ClientAddress({ ipv6Subnet: 127 }).resolve('::3', undefined)).toBe('::2/127');
    expect(new ClientAddress({ ipv6Subnet: false }).resolve(address, undefined)).toBe(
      '2001:db8:1:2:3:4:5:6',
    );
    expect(new ClientAddress({ ipv6Subnet: 128 }).resolve(address, undefined)).toBe(
      '2001:db8:1:2:3:4:5:6',
    );
    // IPv4 clients are never grouped.
    expect(new ClientAddress({ ipv6Subnet: 1 }).resolve('1.2.3.4', undefined)).toBe('1.2.3.4');
  });

  it('answers a run of one client from its cache, and the next client anew', () => {
    const clients = new ClientAddress({ ipv6Subnet: 48 });
    expect(clients.resolve('2001:db8:1:2::1', undefined)).toBe('2001:db8:1::/48');
    expect(clients.resolve('2001:db8:1:3::1', undefined)).toBe('2001:db8:1::/48');
    expect(clients.resolve('2001:db8:2::1', undefined)).toBe('2001:db8:2::/48');
    expect(clients.resolve('0.0.0.0', undefined)).toBe('0.0.0.0');
    expect(clients.resolve('::', undefined)).toBe('::/48');
    expect(clients.resolve('0.0.0.0', undefined)).toBe('0.0.0.0');
    expect(clients.resolve('0.0.0.1', undefined)).toBe('0.0.0.1');
  });

  it('leaves the whole client address in family and words, for allow- and deny-lists', () => {
    const clients = new ClientAddress({ trustProxy: ['10.0.0.0/8'] });
    clients.resolve('10.0.0.5', '2001:db8:1:2::99');
    expect(clients.family).toBe(6);
    expect([...clients.words]).toEqual([0x2001_0db8, 0x0001_0002, 0, 0x99]);
    clients.resolve('10.0.0.5', '203.0.113.7:80');
    expect(clients.family).toBe(4);
    expect(clients.words[0]).toBe(0xcb00_7107);
  });
});

describe('ClientAddress: options', () => {
  it('names the bad trustProxy entry under the owner it is given', () => {
    const bad = () =>
      new ClientAddress({ trustProxy: ['10.0.0.0/8', '::1', 'nope'] }, 'hitwarden/express');
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/^hitwarden\/express\.trustProxy\[2\]: /);
    try {
      bad();
    } catch (error) {
      expect((error as ConfigError).path).toBe('hitwarden/express.trustProxy[2]');
    }
    expect(() => new ClientAddress({ trustProxy: ['10.0.0.1/8'] })).toThrow(
      /^hitwarden\.trustProxy\[0\]: .*host bits/,
    );
    expect(() => new ClientAddress({ trustProxy: '10.0.0.0/8' as never })).toThrow(
      /^hitwarden\.trustProxy: expected an array/,
    );
    expect(() => new ClientAddress({ trustProxy: [42 as never] })).toThrow(/trustProxy\[0\]/);
  });

  it('refuses an ipv6Subnet that is not 1..128 or false', () => {
    for (const value of [0, 129, 64.5, -1, Number.NaN, '64', true, null]) {
      expect(() => new ClientAddress({ ipv6Subnet: value as never }, 'x'), String(value)).toThrow(
        /^x\.ipv6Subnet: expected a prefix length from 1 to 128/,
      );
    }
    expect(new ClientAddress({}).ipv6Subnet).toBe(64);
    expect(new ClientAddress({ ipv6Subnet: false }).ipv6Subnet).toBe(128);
  });

  it('refuses options that are not an object', () => {
    expect(() => new ClientAddress(null as never, 'hitwarden/node')).toThrow(/^hitwarden\/node: /);
  });
});

// ---------------------------------------------------------------------------------------------
// The oracle: the rule written the plain way (split, regular expressions, node:net, BigInt,
// the WHATWG URL serialiser for canonical IPv6), sharing no code with src/ip.

interface Address {
  family: 4 | 6;
  value: bigint;
}

function bigFromIPv6(text: string): bigint {
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const left = head === '' ? [] : head!.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function oracleAddress(text: string): Address | undefined {
  if (isIPv4(text)) {
    return { family: 4, value: text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  }
  if (!isIPv6(text) && !(text.includes('%') && isIPv6(text.slice(0, text.indexOf('%'))))) {
    return undefined;
  }
  const value = bigFromIPv6(text.split('%')[0]!);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffff_ffffn };
  return { family: 6, value };
}

function oracleEntry(raw: string): Address | 'empty' | undefined {
  const entry = raw.replace(/^[ \t]+|[ \t]+$/g, '');
  if (entry === '') return 'empty';
  const portOk = (port: string | undefined) => port === undefined || Number(port) <= 65535;
  const bracketed = /^\[([^\]]*)\](?::(\d{1,5}))?$/.exec(entry);
  if (bracketed) {
    const inside = bracketed[1]!;
    if (!inside.includes(':') || !portOk(bracketed[2]) || inside.endsWith('%')) return undefined;
    return oracleAddress(inside);
  }
  if (isIP(entry) !== 0) return oracleAddress(entry);
  const percent = entry.indexOf('%');
  if (percent > 0 && percent < entry.length - 1 && entry.slice(0, percent).includes(':')) {
    return oracleAddress(entry.slice(0, percent));
  }
  const withPort = /^([^:]+):(\d{1,5})$/.exec(entry);
  if (withPort && portOk(withPort[2]) && isIPv4(withPort[1]!)) return oracleAddress(withPort[1]!);
  return undefined;
}

function oracleTrusted(address: Address): boolean {
  return TRUSTED.some((cidr) => {
    const [text, prefixText] = cidr.split('/');
    const range = oracleAddress(text!)!;
    const bits = range.family === 4 ? 32n : 128n;
    const prefix = prefixText === undefined ? bits : BigInt(prefixText);
    return (
      range.family === address.family &&
      range.value >> (bits - prefix) === address.value >> (bits - prefix)
    );
  });
}

function oracleToken(address: Address, subnet: number | false | undefined): string {
  if (address.family === 4) {
    const v = Number(address.value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const prefix = subnet === undefined ? 64 : subnet === false ? 128 : subnet;
  const kept = (address.value >> BigInt(128 - prefix)) << BigInt(128 - prefix);
  const groups: string[] = [];
  for (let g = 7; g >= 0; g--) groups.push(((kept >> BigInt(16 * g)) & 0xffffn).toString(16));
  const canonical = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
  return prefix === 128 ? canonical : `${canonical}/${prefix}`;
}

function oracle(
  peer: string,
  header: string | string[] | undefined,
  subnet: number | false | undefined,
): string | undefined {
  const socket = oracleAddress(peer);
  if (socket === undefined) return undefined;
  let client = socket;
  if (oracleTrusted(socket) && header !== undefined) {
    const entries = (typeof header === 'string' ? header : header.join(',')).split(',');
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = oracleEntry(entries[i]!);
      if (entry === 'empty') continue;
      if (entry === undefined) break;
      client = entry;
      if (!oracleTrusted(entry)) break;
    }
  }
  return oracleToken(client, subnet);
}

// ---------------------------------------------------------------------------------------------

const octet = fc.integer({ min: 0, max: 255 });
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const group = fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16));
const v6 = fc
  .tuple(fc.integer({ min: 1, max: 0xffff }), fc.array(group, { minLength: 7, maxLength: 7 }))
  .map(([first, rest]) => [first.toString(16), ...rest].join(':'))
  .map((full) => new URL(`http://[${full}]/`).hostname.slice(1, -1));
const trustedV4 = fc.oneof(
  fc.tuple(octet, octet, octet).map((o) => `10.${o.join('.')}`),
  fc.constant('127.0.0.1'),
);
const trustedV6 = fc.oneof(
  fc.tuple(group, group, group).map((g) => `2001:db8:ffff:${g.join(':')}::1`),
  fc.constant('::1'),
);
const address = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(trustedV4, trustedV6) },
  { weight: 2, arbitrary: fc.oneof(v4, v6) },
  { weight: 1, arbitrary: fc.oneof(v4, trustedV4).map((a) => `::ffff:${a}`) },
);
const port = fc.integer({ min: 0, max: 70_000 }).map(String);
const space = fc.constantFrom('', ' ', '  ', '\t', ' \t');
const zone = fc.constantFrom('eth0', '25eth0', 'en/1', 'x y', '');
const decorated = fc
  .record({ address, port: fc.option(port), bracket: fc.boolean(), zone: fc.option(zone) })
  .map(({ address, port, bracket, zone }) => {
    const six = address.includes(':');
    let text = six && zone !== null ? `${address}%${zone}` : address;
    if (six && (bracket || port !== null)) text = `[${text}]`;
    if (port !== null) text = `${text}:${port}`;
    return text;
  });
const garbage = fc.constantFrom(
  'unknown',
  '1.2.3',
  '[::1',
  '1.2.3.4:',
  '[1.2.3.4]',
  '::g',
  'x1',
  '01.2.3.4',
  '1.2.3.4 5',
  '',
);
const entry = fc
  .tuple(
    space,
    fc.oneof({ weight: 6, arbitrary: decorated }, { weight: 1, arbitrary: garbage }),
    space,
  )
  .map(([a, e, b]) => `${a}${e}${b}`);
const header = fc.oneof(
  fc.constant(undefined),
  fc.array(entry, { maxLength: 6 }).map((entries) => entries.join(',')),
  fc
    .array(fc.array(entry, { minLength: 1, maxLength: 3 }), { maxLength: 3 })
    .map((lines) => lines.map((line) => line.join(', '))),
);
const peer = fc.oneof(address, fc.constant('fe80::1%eth0'));
const subnet = fc.oneof(
  fc.constant(undefined),
  fc.constant(false as const),
  fc.integer({ min: 1, max: 128 }),
);

describe('ClientAddress against the oracle', () => {
  it('resolves every request as the plain right-to-left rule does', () => {
    const instances = new Map<string, ClientAddress>();
    fc.assert(
      fc.property(peer, header, subnet, (peer, header, subnet) => {
        // One instance per setting, reused across runs: its last-token cache must never
        // answer for another client.
        const key = String(subnet);
        let clients = instances.get(key);
        if (clients === undefined) {
          clients = new ClientAddress({ trustProxy: TRUSTED, ipv6Subnet: subnet });
          instances.set(key, clients);
        }
        expect(clients.resolve(peer, header)).toBe(oracle(peer, header, subnet));
      }),
      { numRuns: 5_000 },
    );
  });

  it('never makes a token that is not an address or a prefix, whatever the header holds', () => {
    const clients = new ClientAddress({ trustProxy: ['0.0.0.0/0', '::/0'] });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string())), (header) => {
        const token = clients.resolve('10.0.0.5', header)!;
        const [text, prefix] = token.split('/');
        expect(isIP(text!)).not.toBe(0);
        expect(prefix === undefined || prefix === '64').toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
