import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  formatRateLimit,
  formatRateLimitPolicy,
  policyName,
  RATELIMIT_DRAFT,
  RateLimitFields,
  retryAfterSeconds,
  SF_INTEGER_MAX,
  serializeString,
} from '../../src/http/ratelimit-fields.js';

// ---------------------------------------------------------------------------------------------
// A parser of the Structured Field List syntax (RFC 9651 §4.2.1), the parts these fields use:
// String, Integer, Byte Sequence and Token bare items, with parameters. Written from the RFC's
// parsing algorithm, to check that what the serialiser writes is what a recipient reads.

type Bare = string | number | Uint8Array | { token: string } | boolean;
interface Item {
  value: Bare;
  params: Map<string, Bare>;
}

function parseList(input: string): Item[] {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not a structured-field List at ${i}: ${why} in ${JSON.stringify(input)}`);
  };
  const ows = () => {
    while (input[i] === ' ' || input[i] === '\t') i++;
  };
  const bare = (): Bare => {
    const c = input[i];
    if (c === '"') {
      i++;
      let out = '';
      for (;;) {
        if (i >= input.length) fail('unterminated String');
        const ch = input[i++]!;
        if (ch === '\\') {
          const next = input[i++];
          if (next !== '"' && next !== '\\') fail('bad escape');
          out += next;
        } else if (ch === '"') {
          return out;
        } else {
          const code = ch.charCodeAt(0);
          if (code < 0x20 || code > 0x7e) fail('non-printable character in String');
          out += ch;
        }
      }
    }
    if (c === ':') {
      const end = input.indexOf(':', i + 1);
      if (end < 0) fail('unterminated Byte Sequence');
      const text = input.slice(i + 1, end);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) fail('bad base64');
      i = end + 1;
      return new Uint8Array(Buffer.from(text, 'base64'));
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      const match = /^-?\d{1,15}(?![.\d])/.exec(input.slice(i));
      if (!match) fail('bad Integer');
      i += match![0].length;
      return Number(match![0]);
    }
    if (c === '?') {
      i += 2;
      return input[i - 1] === '1';
    }
    const token = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(input.slice(i));
    if (!token) fail('no bare item');
    i += token![0].length;
    return { token: token![0] };
  };
  const params = () => {
    const out = new Map<string, Bare>();
    while (input[i] === ';') {
      i++;
      ows();
      const key = /^[a-z*][a-z0-9_\-.*]*/.exec(input.slice(i));
      if (!key) fail('bad parameter key');
      i += key![0].length;
      if (input[i] === '=') {
        i++;
        out.set(key![0], bare());
      } else {
        out.set(key![0], true);
      }
    }
    return out;
  };
  const items: Item[] = [];
  ows();
  while (i < input.length) {
    const value = bare();
    items.push({ value, params: params() });
    ows();
    if (i >= input.length) break;
    if (input[i] !== ',') fail('expected ","');
    i++;
    ows();
    if (i >= input.length) fail('trailing ","');
  }
  return items;
}

// ---------------------------------------------------------------------------------------------

describe('serializeString', () => {
  it('quotes, and escapes " and \\', () => {
    expect(serializeString('default')).toBe('"default"');
    expect(serializeString('say "hi"')).toBe('"say \\"hi\\""');
    expect(serializeString('a\\b')).toBe('"a\\\\b"');
    expect(serializeString('')).toBe('""');
  });

  it('refuses what a String cannot hold, naming the field', () => {
    expect(() => serializeString('tab\there', 'x.name')).toThrow(ConfigError);
    expect(() => serializeString('é', 'x.name')).toThrow(/^x\.name: "é" has a character/);
    expect(() => serializeString('\u007f')).toThrow(ConfigError);
  });
});

describe('policyName', () => {
  it('is <metric>.<threshold>, readable for ASCII metric names', () => {
    expect(policyName('login_failed', 0)).toBe('login_failed.0');
    expect(policyName('api requests', 3)).toBe('api requests.3');
    expect(policyName('say "hi"\\', 1)).toBe('say "hi"\\.1');
  });

  it('percent-encodes the UTF-8 of everything a String cannot hold, and % itself', () => {
    expect(policyName('connexión', 0)).toBe('connexi%C3%B3n.0');
    expect(policyName('100%', 0)).toBe('100%25.0');
    expect(policyName('a\nb\u007f', 0)).toBe('a%0Ab%7F.0');
    expect(policyName('🔑', 2)).toBe('%F0%9F%94%91.2');
    // A lone surrogate is not text; it is written as U+FFFD, as TextEncoder writes it.
    expect(policyName('x\ud800', 0)).toBe('x%EF%BF%BD.0');
    expect(policyName('\udc00y', 0)).toBe('%EF%BF%BDy.0');
  });

  it('gives any metric a name that serialises, parses back, and decodes to the metric', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom('%', '"', '\\', '.'),
            fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
          ),
        }),
        fc.nat(99),
        (metric, threshold) => {
          const name = policyName(metric, threshold);
          const [item] = parseList(serializeString(name));
          expect(item!.value).toBe(name);
          const dot = name.lastIndexOf('.');
          expect(name.slice(dot + 1)).toBe(String(threshold));
          expect(decodeURIComponent(name.slice(0, dot))).toBe(metric);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('never gives two metrics the same name (of well-formed text: no lone surrogates)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        expect(policyName(a, 0)).not.toBe(policyName(b, 0));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('RateLimit-Policy and RateLimit', () => {
  it('writes the draft syntax: q, qu, w, pk on a policy; r, t, pk on a service limit', () => {
    expect(
      formatRateLimitPolicy([
        { name: 'login_failed.0', quota: 10, windowSeconds: 3600 },
        { name: 'login_failed.1', quota: 100, windowSeconds: 86400 },
      ]),
    ).toBe('"login_failed.0";q=10;w=3600, "login_failed.1";q=100;w=86400');
    expect(
      formatRateLimitPolicy([
        {
          name: 'peruser',
          quota: 65535,
          unit: 'content-bytes',
          windowSeconds: 10,
          partitionKey: new TextEncoder().encode('alice'),
        },
      ]),
    ).toBe('"peruser";q=65535;qu="content-bytes";w=10;pk=:YWxpY2U=:');
    expect(formatRateLimit([{ policy: 'login_failed.0', remaining: 6, resetSeconds: 30 }])).toBe(
      '"login_failed.0";r=6;t=30',
    );
    expect(formatRateLimit([{ policy: 'default', remaining: 999 }])).toBe('"default";r=999');
    expect(
      formatRateLimit([
        {
          policy: 'a.0',
          remaining: 1,
          resetSeconds: 1,
          partitionKey: new Uint8Array([0xfb, 0xff]),
        },
      ]),
    ).toBe('"a.0";r=1;t=1;pk=:+/8=:');
  });

  it('writes no field for no policy (the List must not be empty)', () => {
    expect(formatRateLimitPolicy([])).toBeUndefined();
    expect(formatRateLimit([])).toBeUndefined();
    expect(new RateLimitFields([]).policy).toBeUndefined();
  });

  it('writes an over-limit count as r=0, rounds r down and t up', () => {
    expect(formatRateLimit([{ policy: 'p', remaining: -4, resetSeconds: -1 }])).toBe('"p";r=0;t=0');
    expect(formatRateLimit([{ policy: 'p', remaining: 2.9, resetSeconds: 0.001 }])).toBe(
      '"p";r=2;t=1',
    );
    expect(formatRateLimit([{ policy: 'p', remaining: 1e20, resetSeconds: Infinity }])).toBe(
      `"p";r=${SF_INTEGER_MAX};t=${SF_INTEGER_MAX}`,
    );
  });

  it('names the bad field of a policy', () => {
    const bad = (policy: object) => () =>
      formatRateLimitPolicy([{ name: 'ok', quota: 1, windowSeconds: 1 }, policy as never]);
    expect(bad({ name: 'x', quota: -1, windowSeconds: 1 })).toThrow(
      /^RateLimit-Policy\[1\]\.quota: /,
    );
    expect(bad({ name: 'x', quota: 1.5, windowSeconds: 1 })).toThrow(/\.quota: /);
    expect(bad({ name: 'x', quota: 1e16, windowSeconds: 1 })).toThrow(/\.quota: /);
    expect(bad({ name: 'x', quota: 1, windowSeconds: 0 })).toThrow(/\.windowSeconds: /);
    expect(bad({ name: 'é', quota: 1, windowSeconds: 1 })).toThrow(
      /^RateLimit-Policy\[1\]\.name: /,
    );
    expect(bad({ name: 'x', quota: 1, windowSeconds: 1, unit: 'ü' })).toThrow(/\.unit: /);
    expect(bad({ name: 'x', quota: 1, windowSeconds: 1, partitionKey: 'k' })).toThrow(
      /\.partitionKey: /,
    );
    expect(() => formatRateLimit([{ policy: 'p', remaining: Number.NaN }])).toThrow(
      /^RateLimit\[0\]\.remaining: /,
    );
  });

  it('writes what a structured-field parser reads back, for any metric and any figures', () => {
    const policy = fc.record({
      metric: fc.string({ unit: 'binary', maxLength: 12 }),
      threshold: fc.nat(9),
      quota: fc.nat(SF_INTEGER_MAX),
      windowSeconds: fc.integer({ min: 1, max: SF_INTEGER_MAX }),
      remaining: fc.double({ noNaN: true }),
      resetSeconds: fc.double({ noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(policy, {
          minLength: 1,
          maxLength: 4,
          selector: (p) => policyName(p.metric, p.threshold),
        }),
        (policies) => {
          const named = policies.map((p) => ({ ...p, name: policyName(p.metric, p.threshold) }));
          const fields = new RateLimitFields(named);
          const parsed = parseList(fields.policy!);
          expect(parsed.map((item) => item.value)).toEqual(named.map((p) => p.name));
          parsed.forEach((item, i) => {
            expect(item.params.get('q')).toBe(named[i]!.quota);
            expect(item.params.get('w')).toBe(named[i]!.windowSeconds);
          });
          named.forEach((p, i) => {
            const [limit] = parseList(fields.limit(i, p.remaining, p.resetSeconds));
            expect(limit!.value).toBe(p.name);
            const r = limit!.params.get('r') as number;
            const t = limit!.params.get('t') as number;
            expect(r).toBe(
              p.remaining <= 0 ? 0 : Math.min(Math.floor(p.remaining), SF_INTEGER_MAX),
            );
            expect(t).toBeGreaterThanOrEqual(0);
            if (p.resetSeconds > 0 && p.resetSeconds < SF_INTEGER_MAX) {
              expect(t).toBeGreaterThanOrEqual(p.resetSeconds);
              expect(t - 1).toBeLessThan(p.resetSeconds);
            }
            expect(
              formatRateLimit([
                { policy: p.name, remaining: p.remaining, resetSeconds: p.resetSeconds },
              ]),
            ).toBe(fields.limit(i, p.remaining, p.resetSeconds));
          });
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('RateLimitFields', () => {
  it('compiles the policy field once and the service limit per response', () => {
    const fields = new RateLimitFields([
      { name: policyName('login_failed', 0), quota: 10, windowSeconds: 60 },
      { name: policyName('login_failed', 1), quota: 100, windowSeconds: 3600 },
    ]);
    expect(fields.size).toBe(2);
    expect(fields.policy).toBe('"login_failed.0";q=10;w=60, "login_failed.1";q=100;w=3600');
    expect(fields.limit(1, 41, 12.2)).toBe('"login_failed.1";r=41;t=13');
  });

  it('refuses a repeated policy name and bad policies at setup, naming the field', () => {
    expect(
      () =>
        new RateLimitFields(
          [
            { name: 'a.0', quota: 1, windowSeconds: 1 },
            { name: 'a.0', quota: 2, windowSeconds: 1 },
          ],
          'hitwarden/fastify.headers',
        ),
    ).toThrow(/^hitwarden\/fastify\.headers\.policies\[1\]\.name: "a\.0" names two policies/);
    expect(() => new RateLimitFields([{ name: 'a', quota: 1, windowSeconds: 0.5 }], 'h')).toThrow(
      /^h\.policies\[0\]\.windowSeconds: /,
    );
    expect(() => new RateLimitFields('x' as never, 'h')).toThrow(/^h: expected an array/);
    expect(() => new RateLimitFields([]).limit(0, 1, 1)).toThrow(ConfigError);
  });
});

describe('retryAfterSeconds', () => {
  it('is whole seconds rounded up, at least 1 for any positive wait', () => {
    expect(retryAfterSeconds(0)).toBe(0);
    expect(retryAfterSeconds(-5)).toBe(0);
    expect(retryAfterSeconds(Number.NaN)).toBe(0);
    expect(retryAfterSeconds(0.001)).toBe(1);
    expect(retryAfterSeconds(999)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(3_600_000)).toBe(3600);
    expect(retryAfterSeconds(Infinity)).toBe(SF_INTEGER_MAX);
  });

  it('never tells a client to come back early, nor a whole second late', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: 1e12, noNaN: true }), (ms) => {
        const seconds = retryAfterSeconds(ms);
        expect(Number.isInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(1);
        expect(seconds * 1000).toBeGreaterThanOrEqual(ms);
        expect((seconds - 1) * 1000).toBeLessThan(ms);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// docs/http-headers.md shows field values; each block after a `<!-- fields: NAME -->` marker is
// checked here against what the code writes for the inputs below (the same inputs the page
// states). HITWARDEN_UPDATE_DOCS=1 rewrites the blocks instead of checking them.

const docUrl = new URL('../../docs/http-headers.md', import.meta.url);

function docExamples(): Record<string, string> {
  const login = [
    { name: policyName('login_failed', 0), quota: 10, windowSeconds: 3600 },
    { name: policyName('login_failed', 1), quota: 100, windowSeconds: 86400 },
  ];
  const loginFields = new RateLimitFields(login);
  const odd = ['say "hi"', 'C:\\path', 'connexión', '100%', '🔑'];
  return {
    passing: [
      `RateLimit-Policy: ${loginFields.policy}`,
      `RateLimit: ${loginFields.limit(0, 10 - 4, 3600)}`,
    ].join('\n'),
    refused: [
      'HTTP/1.1 429 Too Many Requests',
      `Retry-After: ${retryAfterSeconds(3_599_200)}`,
      `RateLimit-Policy: ${loginFields.policy}`,
      `RateLimit: ${loginFields.limit(0, 10 - 11, 3_599_200 / 1000)}`,
    ].join('\n'),
    names: odd
      .map(
        (metric) =>
          `${JSON.stringify(metric).padEnd(13)} → ${serializeString(policyName(metric, 0))}`,
      )
      .join('\n'),
  };
}

describe('docs/http-headers.md', () => {
  it('cites the draft the code follows', () => {
    expect(readFileSync(docUrl, 'utf8')).toContain(RATELIMIT_DRAFT);
  });

  it('shows the field values the code writes', () => {
    let doc = readFileSync(docUrl, 'utf8');
    const examples = docExamples();
    for (const [name, expected] of Object.entries(examples)) {
      const marker = `<!-- fields: ${name} -->\n\`\`\`text\n`;
      const start = doc.indexOf(marker);
      expect(start, `marker for ${name}`).toBeGreaterThanOrEqual(0);
      const from = start + marker.length;
      const to = doc.indexOf('```', from);
      if (process.env.HITWARDEN_UPDATE_DOCS === '1') {
        doc = `${doc.slice(0, from)}${expected}\n${doc.slice(to)}`;
      } else {
        expect(doc.slice(from, to), name).toBe(`${expected}\n`);
      }
    }
    if (process.env.HITWARDEN_UPDATE_DOCS === '1') writeFileSync(docUrl, doc);
  });
});
