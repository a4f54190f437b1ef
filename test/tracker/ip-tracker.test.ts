import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidIpError, IpTracker, ManualClock } from '../../src/index.js';
import { OracleTracker } from './oracle.js';

/** Deterministic shuffle (mulberry32) so a failure replays. */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe("the seeds' test", () => {
  it('255.255.255.0/24, each address repeated as often as its last octet, shuffled', () => {
    const requests: string[] = [];
    for (let octet = 0; octet <= 255; octet++) {
      for (let r = 0; r < octet; r++) requests.push(`255.255.255.${octet}`);
    }
    const tracker = new IpTracker();
    for (const ip of shuffle(requests, 42)) tracker.requestHandled(ip);
    const expected = Array.from({ length: 100 }, (_, i) => ({
      ip: `255.255.255.${255 - i}`,
      count: 255 - i,
    }));
    expect(tracker.top100()).toEqual(expected);
    expect(tracker.size).toBe(255);
    expect(tracker.count('255.255.255.0')).toBe(0);
    expect(tracker.count('255.255.255.17')).toBe(17);
  });
});

/** Every spelling of one IPv4 address that a client, proxy or log might hand over. */
function ipv4Forms(word: number): string[] {
  const o = [word >>> 24, (word >>> 16) & 255, (word >>> 8) & 255, word & 255];
  const hi = (word >>> 16).toString(16);
  const lo = (word & 0xffff).toString(16);
  return [
    o.join('.'),
    `::ffff:${o.join('.')}`,
    `::FFFF:${o.join('.')}`,
    `0:0:0:0:0:ffff:${hi}:${lo}`,
    `0000:0000:0000:0000:0000:FFFF:${hi.padStart(4, '0')}:${lo.padStart(4, '0')}`,
  ];
}

/** Every spelling of one IPv6 address (groups given). */
function ipv6Forms(groups: number[]): string[] {
  const hex = groups.map((g) => g.toString(16));
  const forms = [
    hex.join(':'),
    hex.map((g) => g.padStart(4, '0')).join(':'),
    hex.join(':').toUpperCase(),
    `${hex.join(':')}%eth0`,
  ];
  // Compress every run of zeros, not only the longest: all are valid input.
  for (let start = 0; start < 8; start++) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end > start) forms.push(`${hex.slice(0, start).join(':')}::${hex.slice(end).join(':')}`);
  }
  return forms;
}

type Address = { forms: string[] };
const ipv4Address: fc.Arbitrary<Address> = fc
  .oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0x0a000000, max: 0x0a00000f }))
  .map((word) => ({ forms: ipv4Forms(word) }));
const ipv6Address: fc.Arbitrary<Address> = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .filter((g) => !(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff))
  .map((groups) => ({ forms: ipv6Forms(groups) }));

type Op = { kind: 'hit'; address: number; form: number } | { kind: 'clear' } | { kind: 'check' };
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.record({ kind: fc.constant('hit' as const), address: fc.nat(), form: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'check' as const }) },
);

function check(tracker: IpTracker, oracle: OracleTracker, probes: string[]): void {
  expect(tracker.top(tracker.topN)).toEqual(oracle.top(tracker.topN));
  expect(tracker.top100()).toEqual(oracle.top(Math.min(100, tracker.topN)));
  expect(tracker.size).toBe(oracle.counts.size);
  for (const ip of probes) expect(tracker.count(ip)).toBe(oracle.count(ip));
}

describe('IpTracker against a brute-force oracle', () => {
  it('random streams: ties at the K-th place, IPv4 and IPv6, every spelling, clear()', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(ipv4Address, ipv6Address), { minLength: 1, maxLength: 40 }),
        fc.array(op, { maxLength: 400 }),
        fc.constantFrom(1, 2, 3, 5, 10, 100),
        (pool, ops, topN) => {
          const tracker = new IpTracker({ topN });
          const oracle = new OracleTracker(topN);
          const probes = pool.map((a) => a.forms[0]!);
          for (const o of ops) {
            if (o.kind === 'hit') {
              const address = pool[o.address % pool.length]!;
              const ip = address.forms[o.form % address.forms.length]!;
              tracker.requestHandled(ip);
              oracle.requestHandled(ip);
            } else if (o.kind === 'clear') {
              tracker.clear();
              oracle.clear();
            } else {
              check(tracker, oracle, probes);
            }
          }
          check(tracker, oracle, probes);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('through table growth: thousands of addresses, hot ones hit while migration runs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 500, max: 6000 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom(7, 100, 1000),
        (distinct, seed, topN) => {
          const tracker = new IpTracker({ topN });
          const oracle = new OracleTracker(topN);
          let state = seed;
          const next = () => {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            return state;
          };
          const addresses = Array.from({ length: distinct }, (_, i) =>
            i % 5 === 4
              ? `2001:db8::${(next() & 0xffff).toString(16)}:${i.toString(16)}`
              : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          );
          for (let i = 0; i < distinct; i++) {
            // A new address, then a re-visit of an earlier one (often one not yet migrated).
            for (const ip of [
              addresses[i]!,
              addresses[next() % (i + 1)]!,
              addresses[next() % 20]!,
            ]) {
              tracker.requestHandled(ip);
              oracle.requestHandled(ip);
            }
          }
          check(tracker, oracle, addresses);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('a large unhinted table agrees on every count (several incremental doublings)', () => {
    const tracker = new IpTracker();
    const counts = new Map<number, number>();
    let state = 7;
    for (let i = 0; i < 300_000; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const word =
        i < 150_000 ? Math.imul(i, 0x9e3779b1) >>> 0 : Math.imul(state % 150_000, 0x9e3779b1) >>> 0;
      tracker.requestHandled(
        `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`,
      );
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    expect(tracker.size).toBe(counts.size);
    for (const [word, count] of counts) {
      expect(
        tracker.count(`${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`),
      ).toBe(count);
    }
  });
});

describe('bad input', () => {
  const bad: unknown[] = [
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.256',
    '1.2.3',
    '01.2.3.4',
    '10.0.0.0/8',
    'localhost',
    'example.com',
    '1:2:3:4:5:6:7:8:9',
    'fe80::1%',
    '::ffff:1.2.3.4.5',
    'x'.repeat(100_000),
    42,
    null,
    undefined,
    { toString: () => '1.2.3.4' },
  ];

  it('throws InvalidIpError quoting the input, and leaves the state untouched', () => {
    const tracker = new IpTracker({ topN: 3 });
    for (const ip of ['1.2.3.4', '1.2.3.4', '::1']) tracker.requestHandled(ip);
    const before = { top: tracker.top(3), size: tracker.size };
    for (const input of bad) {
      let error: unknown;
      try {
        tracker.requestHandled(input as string);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidIpError);
      expect((error as InvalidIpError).input).toBe(input);
      if (typeof input === 'string') {
        expect((error as Error).message).toContain(JSON.stringify(input.slice(0, 20)).slice(0, -1));
      }
      expect(() => tracker.count(input as string)).toThrow(InvalidIpError);
    }
    expect({ top: tracker.top(3), size: tracker.size }).toEqual(before);
  });

  it('validates options and arguments', () => {
    expect(() => new IpTracker({ topN: 0 })).toThrow(ConfigError);
    expect(() => new IpTracker({ topN: 1.5 })).toThrow('IpTracker.topN');
    expect(() => new IpTracker({ expectedAddresses: Number.NaN })).toThrow(
      'IpTracker.expectedAddresses',
    );
    expect(() => new IpTracker({ rollover: { periodSeconds: 0 } })).toThrow(
      'rollover.periodSeconds',
    );
    const tracker = new IpTracker({ topN: 10 });
    for (const n of [11, -1, 1.5, Number.NaN, '3', null]) {
      expect(() => tracker.top(n as number)).toThrow(ConfigError);
    }
    expect(() => tracker.top(11)).toThrow(
      /IpTracker\.top\.n: must be an integer from 0 to topN \(10\), got 11/,
    );
    expect(tracker.top(0)).toEqual([]);
    expect(new IpTracker({ topN: 5 }).top100()).toEqual([]);
  });
});

describe('clear and rollover', () => {
  it('clear() forgets everything and the tracker keeps working', () => {
    const tracker = new IpTracker({ expectedAddresses: 10 });
    for (let i = 0; i < 5000; i++) tracker.requestHandled(`192.0.2.${i % 200}`);
    tracker.clear();
    expect(tracker.size).toBe(0);
    expect(tracker.top100()).toEqual([]);
    expect(tracker.count('192.0.2.1')).toBe(0);
    tracker.requestHandled('192.0.2.1');
    expect(tracker.top100()).toEqual([{ ip: '192.0.2.1', count: 1 }]);
  });

  it('starts a new day at UTC midnight and keeps the finished day', () => {
    const day = 86_400_000;
    const time = new ManualClock(Date.UTC(2026, 0, 1, 23, 0));
    const tracker = new IpTracker({ clock: time.now, rollover: true, topN: 2 });
    tracker.requestHandled('198.51.100.1');
    tracker.requestHandled('198.51.100.1');
    tracker.requestHandled('2001:db8::1');
    expect(tracker.previous).toBeUndefined();
    time.advance(3600); // 00:00 on Jan 2
    expect(tracker.size).toBe(0);
    expect(tracker.previous).toEqual({
      start: Date.UTC(2026, 0, 1),
      end: Date.UTC(2026, 0, 2),
      size: 2,
      top: [
        { ip: '198.51.100.1', count: 2 },
        { ip: '2001:db8::1', count: 1 },
      ],
    });
    tracker.requestHandled('198.51.100.9');
    time.advance(-60); // a clock that steps back does not undo the rollover
    expect(tracker.top(2)).toEqual([{ ip: '198.51.100.9', count: 1 }]);
    time.set(Date.UTC(2026, 0, 5, 12)); // days without traffic: the previous day was empty
    expect(tracker.previous).toEqual({
      start: Date.UTC(2026, 0, 4),
      end: Date.UTC(2026, 0, 5),
      size: 0,
      top: [],
    });
    expect(tracker.previous!.end - tracker.previous!.start).toBe(day);
  });

  it('honours periodSeconds and offsetSeconds', () => {
    const time = new ManualClock(Date.UTC(2026, 0, 1, 0, 59));
    const tracker = new IpTracker({
      clock: time.now,
      rollover: { periodSeconds: 3600, offsetSeconds: 1800 },
    });
    tracker.requestHandled('203.0.113.5');
    time.set(Date.UTC(2026, 0, 1, 1, 29, 59));
    expect(tracker.size).toBe(1);
    time.set(Date.UTC(2026, 0, 1, 1, 30));
    expect(tracker.size).toBe(0);
    expect(tracker.previous?.start).toBe(Date.UTC(2026, 0, 1, 0, 30));
  });
});
