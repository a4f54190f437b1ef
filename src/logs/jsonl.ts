import { ConfigError, quoteInput } from '../errors.js';
import { parseAddressIn } from '../ip/parse.js';
import { CLF_TIME_LENGTH, parseClfTime } from './clf-time.js';
import type { LineParser, LogLine } from './log-line.js';

/*
 * JSON lines: one object per line, as nginx writes with `log_format ... escape=json` or a
 * load balancer exports. The field names differ by who wrote the log, so each field has a
 * list of usual names, and `--fields ip=client,time=ts` names them outright. Unlike the
 * access-log formats this one decodes each line (UTF-8, then JSON.parse): a line is an
 * object, and its strings may hold any character.
 */

export type JsonField = 'ip' | 'time' | 'method' | 'path' | 'request' | 'status';

/** The field names tried for each value, first found wins. `request` (`GET /a HTTP/1.1`) is
 *  read when there is no method or path. */
export const DEFAULT_JSON_FIELDS: Readonly<Record<JsonField, readonly string[]>> = {
  ip: ['remote_addr', 'client_ip', 'ip', 'clientip', 'remote_ip', 'client'],
  time: ['time', 'timestamp', 'time_iso8601', '@timestamp', 'ts', 'time_local', 'msec'],
  method: ['method', 'request_method', 'verb'],
  path: ['path', 'uri', 'request_uri', 'url'],
  request: ['request'],
  status: ['status', 'status_code', 'response'],
};

/** Parses `--fields ip=client,time=ts`: each named field replaces its list of usual names. */
export function jsonFieldsOf(text: string): Record<JsonField, readonly string[]> {
  const fields: Record<JsonField, readonly string[]> = { ...DEFAULT_JSON_FIELDS };
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const name = pair.slice(eq + 1).trim();
    if (eq <= 0 || name === '' || !(key in DEFAULT_JSON_FIELDS)) {
      throw new ConfigError(
        '--fields',
        `expected field=name pairs with field one of ${Object.keys(DEFAULT_JSON_FIELDS).join(', ')}, got ${quoteInput(pair)}`,
      );
    }
    fields[key as JsonField] = [name];
  }
  return fields;
}

function first(object: Record<string, unknown>, names: readonly string[]): unknown {
  for (const name of names) {
    const value = object[name];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** Epoch ms of a JSON time: epoch seconds (with a fraction, like nginx's $msec) or
 *  milliseconds as a number or numeric string, ISO 8601, or the access-log form. */
export function jsonTime(value: unknown): number {
  if (typeof value === 'number') return value < 1e11 ? value * 1000 : value;
  if (typeof value !== 'string') return Number.NaN;
  if (/^\d+(\.\d+)?$/.test(value)) return jsonTime(Number(value));
  if (value.length === CLF_TIME_LENGTH && value.charCodeAt(2) === 47) return parseClfTime(value, 0);
  return Date.parse(value);
}

/** A parser for JSON lines with these field names. */
export function jsonLineParser(fields: Readonly<Record<JsonField, readonly string[]>>): LineParser {
  return (_text, start, end, bytes, out: LogLine) => {
    let object: unknown;
    try {
      object = JSON.parse(bytes.toString('utf8', start, end));
    } catch {
      return 'not JSON';
    }
    if (object === null || typeof object !== 'object' || Array.isArray(object)) {
      return 'not a JSON object';
    }
    const record = object as Record<string, unknown>;
    const ip = first(record, fields.ip);
    const time = first(record, fields.time);
    const status = first(record, fields.status);
    let method = first(record, fields.method);
    let path = first(record, fields.path);
    if (ip === undefined || time === undefined || status === undefined) return 'missing field';
    if (method === undefined || path === undefined) {
      const request = first(record, fields.request);
      if (typeof request !== 'string') return 'missing field';
      const parts = request.split(' ');
      method = parts[0];
      path = parts[1] ?? '';
    }
    if (typeof ip !== 'string' || typeof method !== 'string' || typeof path !== 'string') {
      return 'bad field';
    }
    const family = parseAddressIn(ip, 0, ip.length, out.words);
    if (family === 0) return 'bad client address';
    const ms = jsonTime(time);
    if (Number.isNaN(ms)) return 'bad timestamp';
    const code = typeof status === 'string' ? Number(status) : status;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 999) {
      return 'bad status';
    }
    const cut = path.search(/[?#]/);
    // As bytes in latin1 text, like the routes of the access-log formats.
    const route = Buffer.from(
      `${method} ${cut === -1 ? path : path.slice(0, cut)}`,
      'utf8',
    ).toString('latin1');
    out.family = family;
    out.time = ms;
    out.status = code;
    out.routeText = route;
    out.routeStart = 0;
    out.methodEnd = Buffer.byteLength(method, 'utf8');
    out.routeEnd = route.length;
    return undefined;
  };
}
