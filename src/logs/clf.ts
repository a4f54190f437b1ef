import { parseAddressIn } from '../ip/parse.js';
import { CLF_TIME_LENGTH, parseClfTime } from './clf-time.js';
import type { LineParser, LogLine, MalformedReason } from './log-line.js';

/*
 * The common and combined log formats of nginx and Apache:
 *
 *   203.0.113.7 - alice [10/Oct/2026:13:55:36 +0000] "GET /a?b=1 HTTP/1.1" 200 2326 "ref" "agent"
 *   └ client    │ └ user └ time                      └ request             │   └ size └ combined only
 *               └ ident                                                    └ status
 *
 * Read in place with indexOf and charCodeAt over the chunk's text. Quoted fields end at the
 * first `"` not escaped by a backslash: Apache writes a quote inside a field as `\"` and nginx
 * as `\x22`, and both escape the backslash itself, so `\\"` ends a field. Anything after the
 * user agent (fields a site appended to the format) is left alone.
 */

const SPACE = 32;
const QUOTE = 34;
const BACKSLASH = 92;
const QUESTION = 63;
const HASH = 35;
const DASH = 45;

/** Index of the `"` closing a quoted field that starts at `from`, or -1 before `end`. Found
 *  with indexOf (the engine's fast search) rather than a loop over every character: a quote
 *  is escaped when an odd number of backslashes stand right before it. */
function closingQuote(text: string, from: number, end: number): number {
  for (let at = from; ; at++) {
    at = text.indexOf('"', at);
    if (at === -1 || at >= end) return -1;
    let backslashes = 0;
    while (at - backslashes - 1 >= from && text.charCodeAt(at - backslashes - 1) === BACKSLASH) {
      backslashes++;
    }
    if ((backslashes & 1) === 0) return at;
  }
}

/** The fields both formats share; returns the index just past the size field (or a reason). */
function parseCommonPart(
  text: string,
  start: number,
  end: number,
  out: LogLine,
): number | MalformedReason {
  if (start === end) return 'empty line';
  const space = text.indexOf(' ', start);
  if (space === -1 || space >= end || space === start) return 'no client address';
  const family = parseAddressIn(text, start, space, out.words);
  if (family === 0) return 'bad client address';
  out.family = family;

  const open = text.indexOf('[', space);
  if (open === -1 || open >= end) return 'no timestamp';
  if (open + 1 + CLF_TIME_LENGTH >= end || text.charCodeAt(open + 1 + CLF_TIME_LENGTH) !== 93) {
    return 'bad timestamp';
  }
  const time = parseClfTime(text, open + 1);
  if (Number.isNaN(time)) return 'bad timestamp';
  out.time = time;

  let i = open + 2 + CLF_TIME_LENGTH;
  if (i + 1 >= end || text.charCodeAt(i) !== SPACE || text.charCodeAt(i + 1) !== QUOTE) {
    return 'no request';
  }
  const requestStart = i + 2;
  const requestEnd = closingQuote(text, requestStart, end);
  if (requestEnd === -1) return 'truncated request';
  routeOf(text, requestStart, requestEnd, out);

  i = requestEnd + 1;
  if (i + 4 > end || text.charCodeAt(i) !== SPACE) return 'bad status';
  const d0 = text.charCodeAt(i + 1) - 48;
  const d1 = text.charCodeAt(i + 2) - 48;
  const d2 = text.charCodeAt(i + 3) - 48;
  if (!(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return 'bad status';
  i += 4;
  if (i < end && text.charCodeAt(i) !== SPACE) return 'bad status';
  out.status = d0 * 100 + d1 * 10 + d2;

  // The size: digits, or '-' for none.
  if (i >= end) return 'truncated line';
  i++;
  const sizeStart = i;
  if (i < end && text.charCodeAt(i) === DASH) i++;
  else
    while (i < end) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      i++;
    }
  if (i === sizeStart || (i < end && text.charCodeAt(i) !== SPACE)) return 'bad size';
  return i;
}

/** The route of the request line `text[start, end)`: method, a space, the target up to its
 *  query string or fragment. */
function routeOf(text: string, start: number, end: number, out: LogLine): void {
  out.routeText = text;
  out.routeStart = start;
  let methodEnd = text.indexOf(' ', start);
  if (methodEnd === -1 || methodEnd >= end) {
    out.methodEnd = end;
    out.routeEnd = end;
    return;
  }
  out.methodEnd = methodEnd;
  let i = ++methodEnd;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === QUESTION || c === HASH) break;
    i++;
  }
  out.routeEnd = i;
}

/** The common log format (and any line with more fields after the size). */
export const parseCommon: LineParser = (text, start, end, _bytes, out) => {
  const at = parseCommonPart(text, start, end, out);
  return typeof at === 'number' ? undefined : at;
};

/** The combined log format: the common fields, then the quoted referer and user agent. */
export const parseCombined: LineParser = (text, start, end, _bytes, out) => {
  const at = parseCommonPart(text, start, end, out);
  if (typeof at !== 'number') return at;
  if (at + 2 > end || text.charCodeAt(at) !== SPACE || text.charCodeAt(at + 1) !== QUOTE) {
    return 'truncated line';
  }
  const refererEnd = closingQuote(text, at + 2, end);
  if (refererEnd === -1) return 'truncated line';
  const agentAt = refererEnd + 1;
  if (
    agentAt + 2 > end ||
    text.charCodeAt(agentAt) !== SPACE ||
    text.charCodeAt(agentAt + 1) !== QUOTE
  ) {
    return 'truncated line';
  }
  return closingQuote(text, agentAt + 2, end) === -1 ? 'truncated line' : undefined;
};

const EMPTY = Buffer.alloc(0);

/** Whether a line that parses as common carries the combined format's two quoted fields. */
export function looksCombined(text: string, start: number, end: number, out: LogLine): boolean {
  return parseCombined(text, start, end, EMPTY, out) === undefined;
}
