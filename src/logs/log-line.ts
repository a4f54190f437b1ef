import type { ParseResult } from '../ip/address.js';

/*
 * One parsed log line, in a record the parsers fill and the analysis reads, reused for every
 * line so that reading a log allocates nothing per line. Text fields are ranges of
 * `routeText` (for the access-log formats, the chunk of the log the line sits in), not
 * substrings.
 */
export class LogLine {
  /** 4 or 6 for a parsed line (the address in `words`, as `parseAddressIn` writes it). */
  family: ParseResult = 0;
  readonly words = new Uint32Array(4);
  /** Epoch milliseconds. */
  time = 0;
  /** The response status, 100–999. */
  status = 0;
  /** Holds the route, `METHOD /path` (no query string), at [routeStart, routeEnd); the
   *  method ends at methodEnd, and the path starts one character later. A request line with
   *  no space (`-`, garbage) is all method and an empty path. */
  routeText = '';
  routeStart = 0;
  methodEnd = 0;
  routeEnd = 0;
}

/** Why a line was not counted. Constant strings, so a malformed line costs no allocation. */
export type MalformedReason =
  | 'empty line'
  | 'no client address'
  | 'bad client address'
  | 'no timestamp'
  | 'bad timestamp'
  | 'no request'
  | 'truncated request'
  | 'bad status'
  | 'bad size'
  | 'truncated line'
  | 'line too long'
  | 'not JSON'
  | 'not a JSON object'
  | 'missing field'
  | 'bad field';

/** A log format's parser: fills `out` from `text[start, end)` (a line without its newline)
 *  and returns `undefined`, or the reason the line is malformed. `bytes` holds the same line
 *  at [start, end) as bytes, for a format that must decode UTF-8 itself (JSON lines). */
export type LineParser = (
  text: string,
  start: number,
  end: number,
  bytes: Buffer,
  out: LogLine,
) => MalformedReason | undefined;
