import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { formatIPv4, formatIPv6 } from '../../src/ip/format.js';
import {
  DEFAULT_JSON_FIELDS,
  jsonFieldsOf,
  jsonLineParser,
  jsonTime,
} from '../../src/logs/jsonl.js';
import { LogLine } from '../../src/logs/log-line.js';

function parse(line: string, fields = DEFAULT_JSON_FIELDS) {
  const text = `{"x":1}\n${line}\n{"y":2}`;
  const bytes = Buffer.from(text, 'utf8');
  // The parser reads the line's bytes; the latin1 text is what the splitter would pass.
  const start = Buffer.byteLength('{"x":1}\n');
  const end = start + Buffer.byteLength(line);
  const out = new LogLine();
  const reason = jsonLineParser(fields)(bytes.toString('latin1'), start, end, bytes, out);
  if (reason !== undefined) return { reason };
  const route = Buffer.from(out.routeText.slice(out.routeStart, out.routeEnd), 'latin1').toString(
    'utf8',
  );
  return {
    client: out.family === 4 ? formatIPv4(out.words[0]!) : formatIPv6(out.words),
    time: new Date(out.time).toISOString(),
    status: out.status,
    route,
    method: Buffer.from(out.routeText.slice(out.routeStart, out.methodEnd), 'latin1').toString(
      'utf8',
    ),
  };
}

describe('JSON lines', () => {
  it('reads the usual field names of nginx and load balancers', () => {
    expect(
      parse(
        '{"remote_addr":"203.0.113.7","time_iso8601":"2026-12-01T10:00:00+01:00","request_method":"GET","request_uri":"/a?b=1","status":"200"}',
      ),
    ).toEqual({
      client: '203.0.113.7',
      time: '2026-12-01T09:00:00.000Z',
      status: 200,
      route: 'GET /a',
      method: 'GET',
    });
    expect(
      parse(
        '{"client_ip":"::ffff:10.0.0.1","msec":"1764583200.123","request":"POST /login HTTP/1.1","status":401}',
      ),
    ).toEqual({
      client: '10.0.0.1',
      time: '2025-12-01T10:00:00.123Z',
      status: 401,
      route: 'POST /login',
      method: 'POST',
    });
    expect(
      parse(
        '{"ip":"2001:db8::1","ts":1764583200000,"method":"GET","path":"/caf\\u00e9","status":404}',
      ),
    ).toMatchObject({
      client: '2001:db8::1',
      route: 'GET /café',
    });
    expect(
      parse(
        '{"ip":"10.0.0.1","time":"01/Dec/2026:10:00:00 +0000","method":"GET","url":"/x#f","status":200}',
      ),
    ).toMatchObject({
      time: '2026-12-01T10:00:00.000Z',
      route: 'GET /x',
    });
  });

  it('takes field names from --fields', () => {
    const fields = jsonFieldsOf('ip=src,time=when,status=code');
    expect(
      parse(
        '{"src":"10.0.0.9","when":"2026-12-01T00:00:00Z","method":"GET","path":"/","code":503}',
        fields,
      ),
    ).toMatchObject({
      client: '10.0.0.9',
      status: 503,
    });
    // Only the named field is read once --fields names it.
    expect(
      parse(
        '{"remote_addr":"10.0.0.9","when":"2026-12-01T00:00:00Z","method":"GET","path":"/","code":503}',
        fields,
      ),
    ).toEqual({
      reason: 'missing field',
    });
    expect(() => jsonFieldsOf('address=src')).toThrow(ConfigError);
    expect(() => jsonFieldsOf('ip')).toThrow(ConfigError);
  });

  it('names what is wrong with a malformed line', () => {
    const ok = {
      ip: '10.0.0.1',
      time: '2026-12-01T00:00:00Z',
      method: 'GET',
      path: '/',
      status: 200,
    };
    const cases: [string, string][] = [
      ['{"ip": "10.0.0.1"', 'not JSON'],
      ['[1,2]', 'not a JSON object'],
      ['null', 'not a JSON object'],
      [JSON.stringify({ ...ok, ip: undefined }), 'missing field'],
      [JSON.stringify({ ...ok, ip: 'nope' }), 'bad client address'],
      [JSON.stringify({ ...ok, ip: 7 }), 'bad field'],
      [JSON.stringify({ ...ok, time: 'soon' }), 'bad timestamp'],
      [JSON.stringify({ ...ok, status: 42 }), 'bad status'],
      [JSON.stringify({ ...ok, status: '2xx' }), 'bad status'],
      [JSON.stringify({ ...ok, method: undefined, path: undefined }), 'missing field'],
    ];
    for (const [line, reason] of cases) expect(parse(line), line).toEqual({ reason });
  });

  it('reads times as epoch seconds, milliseconds, ISO 8601 or the access-log form', () => {
    expect(jsonTime(1764583200)).toBe(1764583200000);
    expect(jsonTime(1764583200123)).toBe(1764583200123);
    expect(jsonTime('1764583200.5')).toBe(1764583200500);
    expect(jsonTime('2026-12-01T00:00:00Z')).toBe(Date.UTC(2026, 11, 1));
    expect(jsonTime('01/Dec/2026:00:00:00 +0000')).toBe(Date.UTC(2026, 11, 1));
    expect(jsonTime(true)).toBeNaN();
  });
});
