import { ConfigError, quoteInput } from '../errors.js';

/*
 * Which log lines count as events of a metric when `hitwarden analyze` replays a bans file:
 * the `match` written beside a metric's thresholds,
 *
 *   login_failed: { match: { method: POST, path: /login, status: 401 }, thresholds: [...] }
 *
 * Every field is optional and a metric without `match` counts every line. A line's method
 * and path decide its route, so a match is settled once per route (`routeMatches`) and once
 * per status code (`statusMatches`), and the per-line test is two table lookups.
 */

/** A `match` as written in a bans file. */
export interface LineMatch {
  /** The request method, compared exactly (`POST`). */
  readonly method?: string;
  /** The path without its query string: exact (`/login`), or a prefix ending in `*`
   *  (`/api/*` matches `/api/` and everything under it). */
  readonly path?: string;
  /** A status code (`401`), a list of them (`[401, 403]`), or a class (`4xx`). */
  readonly status?: number | readonly number[] | string;
}

/** A checked `match`, answering for a route and a status code. */
export interface CompiledMatch {
  readonly spec: LineMatch;
  /** Whether a line of `method` and `path` (no query string) can match. */
  routeMatches(method: string, path: string): boolean;
  /** Whether a line with `status` can match (0 for a line whose status is unknown). */
  statusMatches(status: number): boolean;
}

const CLASS = /^[1-5]xx$/;

/** Checks a `match` written in a bans file; `path` names it in errors
 *  (`bans.login_failed.match`). */
export function lineMatchOf(path: string, raw: unknown): LineMatch {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      path,
      `must be a mapping of method, path and status, got ${quoteInput(raw)}`,
    );
  }
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (key !== 'method' && key !== 'path' && key !== 'status') {
      throw new ConfigError(`${path}.${key}`, 'is not a match field (method, path, status)');
    }
  }
  const { method, path: routePath, status } = spec;
  if (
    method !== undefined &&
    (typeof method !== 'string' || !/^[!#-'*+.^-z|~0-9A-Za-z-]+$/.test(method))
  ) {
    throw new ConfigError(
      `${path}.method`,
      `must be an HTTP method such as POST, got ${quoteInput(method)}`,
    );
  }
  if (routePath !== undefined && (typeof routePath !== 'string' || routePath === '')) {
    throw new ConfigError(
      `${path}.path`,
      `must be a path (/login) or a prefix ending in * (/api/*), got ${quoteInput(routePath)}`,
    );
  }
  if (
    typeof routePath === 'string' &&
    routePath.indexOf('*') !== -1 &&
    routePath.indexOf('*') !== routePath.length - 1
  ) {
    throw new ConfigError(
      `${path}.path`,
      `may hold one * only, at its end, got ${quoteInput(routePath)}`,
    );
  }
  if (status !== undefined) statusOf(`${path}.status`, status);
  return spec as LineMatch;
}

function statusOf(path: string, status: unknown): void {
  const isCode = (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 999;
  if (isCode(status)) return;
  if (typeof status === 'string' && (CLASS.test(status) || /^[1-9][0-9]{2}$/.test(status))) return;
  if (Array.isArray(status) && status.length > 0 && status.every(isCode)) return;
  throw new ConfigError(
    path,
    `must be a status code (401), a list of codes ([401, 403]) or a class (4xx), got ${quoteInput(status)}`,
  );
}

/** A matcher for a checked `match`; `undefined` matches every line. */
export function compileMatch(spec: LineMatch | undefined): CompiledMatch {
  const method = spec?.method;
  const path = spec?.path;
  const prefix = path?.endsWith('*') ? path.slice(0, -1) : undefined;
  const codes = statusCodes(spec?.status);
  return {
    spec: spec ?? {},
    routeMatches(lineMethod, linePath) {
      if (method !== undefined && lineMethod !== method) return false;
      if (path === undefined) return true;
      return prefix !== undefined ? linePath.startsWith(prefix) : linePath === path;
    },
    statusMatches(status) {
      return codes === undefined || codes(status);
    },
  };
}

function statusCodes(status: LineMatch['status']): ((code: number) => boolean) | undefined {
  if (status === undefined) return undefined;
  if (typeof status === 'number') return (code) => code === status;
  if (Array.isArray(status)) {
    const set = new Set(status);
    return (code) => set.has(code);
  }
  const text = status as string;
  if (CLASS.test(text)) {
    const hundreds = Number(text[0]) * 100;
    return (code) => code >= hundreds && code < hundreds + 100;
  }
  const code = Number(text);
  return (line) => line === code;
}
