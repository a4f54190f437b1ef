import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6 } from '../../src/ip/format.js';
import { parseCombined, parseCommon } from '../../src/logs/clf.js';
import { parseClfTime } from '../../src/logs/clf-time.js';
import { LogLine } from '../../src/logs/log-line.js';
import { detectFormat } from '../../src/logs/log-reader.js';

/** Parses one line as the reader does: its text inside a longer chunk, so a parser that reads
 *  past the line's end is caught. */
function parse(line: string, parser = parseCombined) {
  const before = 'x"] 1.2.3.4 [\n';
  const after = '\n9.9.9.9 - - [01/Jan/2026:00:00:00 +0000] "GET /after HTTP/1.1" 200 1 "-" "-"';
  const chunk = before + line + after;
  const bytes = Buffer.from(chunk, 'latin1');
  const out = new LogLine();
  const reason = parser(chunk, before.length, before.length + line.length, bytes, out);
  if (reason !== undefined) return { reason };
  const client = out.family === 4 ? formatIPv4(out.words[0]!) : formatIPv6(out.words);
  const route = out.routeText.slice(out.routeStart, out.routeEnd);
  return {
    client,
    time: new Date(out.time).toISOString(),
    status: out.status,
    method: out.routeText.slice(out.routeStart, out.methodEnd),
    route,
  };
}

const T = '[10/Oct/2026:13:55:36 +0000]';

describe('the combined format', () => {
  it('reads a plain line', () => {
    expect(
      parse(
        `203.0.113.7 - alice ${T} "GET /products/17?ref=mail HTTP/1.1" 200 2326 "https://example.com/" "Mozilla/5.0"`,
      ),
    ).toEqual({
      client: '203.0.113.7',
      time: '2026-10-10T13:55:36.000Z',
      status: 200,
      method: 'GET',
      route: 'GET /products/17',
    });
  });

  it('takes - for ident, user, size, referer and agent', () => {
    expect(parse(`203.0.113.7 - - ${T} "GET / HTTP/1.1" 304 - "-" "-"`)).toMatchObject({
      status: 304,
      route: 'GET /',
    });
  });

  it('reads escaped quotes and backslashes in the request and the agent', () => {
    expect(
      parse(`10.0.0.1 - - ${T} "GET /a\\"b HTTP/1.1" 200 5 "-" "curl \\"quoted\\" \\\\"`),
    ).toMatchObject({ route: 'GET /a\\"b' });
    // nginx writes a quote as \x22: nothing special, and the field still ends at its quote.
    expect(parse(`10.0.0.1 - - ${T} "GET /x\\x22 HTTP/1.1" 200 5 "-" "a\\x22b"`)).toMatchObject({
      route: 'GET /x\\x22',
    });
    // An escaped backslash before the closing quote: the quote closes the field.
    expect(parse(`10.0.0.1 - - ${T} "GET /x\\\\" 200 5 "-" "agent"`)).toMatchObject({
      route: 'GET /x\\\\',
    });
  });

  it('reads IPv6 clients, and IPv4-mapped ones as the IPv4 client', () => {
    expect(parse(`2001:DB8::0:1 - - ${T} "GET / HTTP/2.0" 200 1 "-" "-"`)).toMatchObject({
      client: '2001:db8::1',
    });
    expect(parse(`::ffff:192.0.2.9 - - ${T} "GET / HTTP/1.1" 200 1 "-" "-"`)).toMatchObject({
      client: '192.0.2.9',
    });
  });

  it('takes a request line without a space (nginx logs "-" for an empty request) as its own route', () => {
    expect(parse(`10.0.0.1 - - ${T} "-" 400 0 "-" "-"`)).toMatchObject({
      status: 400,
      method: '-',
      route: '-',
    });
  });

  it('keeps the fields a site appended after the agent out of the way', () => {
    expect(
      parse(`10.0.0.1 - - ${T} "GET /a HTTP/1.1" 200 1 "-" "agent" 0.003 upstream=1`),
    ).toMatchObject({
      route: 'GET /a',
    });
  });

  it('reads the time zone and refuses impossible times', () => {
    expect(
      parse(`10.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"`),
    ).toMatchObject({
      time: '2026-10-10T20:55:36.000Z',
    });
    for (const bad of [
      '[31/Feb/2026:13:55:36 +0000]',
      '[10/Okt/2026:13:55:36 +0000]',
      '[10/Oct/2026:24:00:00 +0000]',
      '[10/Oct/2026:13:61:00 +0000]',
      '[10/Oct/2026:13:55:36 0000]',
      '[10/Oct/2026:13:55:36 +00]',
      '[1/Oct/2026:13:55:36 +0000]',
      '[2026-10-10T13:55:36Z]',
      '[]',
    ]) {
      expect(parse(`10.0.0.1 - - ${bad} "GET / HTTP/1.1" 200 1 "-" "-"`), bad).toEqual({
        reason: 'bad timestamp',
      });
    }
  });

  it('names what is wrong with a malformed line', () => {
    const cases: [string, string][] = [
      ['', 'empty line'],
      ['garbage', 'no client address'],
      [`999.0.0.1 - - ${T} "GET / HTTP/1.1" 200 1 "-" "-"`, 'bad client address'],
      [`10.0.0.1 - - "GET / HTTP/1.1" 200 1 "-" "-"`, 'no timestamp'],
      [`10.0.0.1 - - ${T} GET / HTTP/1.1 200 1`, 'no request'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1`, 'truncated request'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1" 20x 1 "-" "-"`, 'bad status'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1" 2000 1 "-" "-"`, 'bad status'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1" 200 1x "-" "-"`, 'bad size'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1" 200 1 "-" "Mozi`, 'truncated line'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1" 200 1`, 'truncated line'],
      [`10.0.0.1 - - ${T} "GET / HTTP/1.1" 200`, 'truncated line'],
      [`\0\0\0\0${`10.0.0.1 - - ${T} "GET / HTTP/1.1" 200 1 "-" "-"`}`, 'bad client address'],
    ];
    for (const [line, reason] of cases) expect(parse(line), line).toEqual({ reason });
  });

  it('lets a NUL byte or invalid UTF-8 in a quoted field pass, read as bytes', () => {
    const line = `10.0.0.1 - - ${T} "GET /caf\xc3\xa9\xff HTTP/1.1" 200 1 "-" "a\0b"`;
    expect(parse(line)).toMatchObject({ route: 'GET /caf\xc3\xa9\xff' });
  });
});

describe('the common format', () => {
  it('ends after the size', () => {
    expect(parse(`10.0.0.1 - - ${T} "POST /login HTTP/1.1" 401 12`, parseCommon)).toMatchObject({
      status: 401,
      route: 'POST /login',
    });
  });

  it('is what auto-detection picks for a line without referer and agent', () => {
    const common = `10.0.0.1 - - ${T} "GET / HTTP/1.1" 200 12`;
    const combined = `${common} "-" "agent"`;
    expect(detectFormat(common, 0, common.length)).toBe('common');
    expect(detectFormat(combined, 0, combined.length)).toBe('combined');
    expect(detectFormat('{"ip":"1.2.3.4"}', 0, 16)).toBe('jsonl');
  });
});

describe('parseClfTime', () => {
  const MONTHS = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  it('agrees with Date on every valid time, in any zone', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1900-01-01T00:00:00Z'),
          max: new Date('2999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (date, zoneMinutes) => {
          const utc = Math.floor(date.getTime() / 1000) * 1000;
          const local = new Date(utc + zoneMinutes * 60_000);
          const zone = `${zoneMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(zoneMinutes) / 60))}${pad(Math.abs(zoneMinutes) % 60)}`;
          const text = `${pad(local.getUTCDate())}/${MONTHS[local.getUTCMonth()]}/${pad(local.getUTCFullYear(), 4)}:${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())} ${zone}`;
          expect(parseClfTime(text, 0)).toBe(utc);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
