import type { IncomingMessage, ServerResponse } from 'node:http';
import { functionOption } from '../options.js';
import { type Admission, Guard, type GuardOptions } from './guard.js';
import { applyHeaders, sendJson } from './respond.js';

/*
 * hitwarden for node:http (and anything built on it that hands out the raw request and
 * response). There is no router, so the hit counter's key is `route(req)`: by default the
 * method and the path without its query string (bounded by the counter's `maxKeys`).
 */

export interface NodeGuardOptions extends GuardOptions<IncomingMessage, ServerResponse> {
  /** The hit counter's key for a request. @default `${method} ${path without query}` */
  route?: (req: IncomingMessage) => string;
}

/** Resolves true when the request may go on, false when the ward has answered it. */
export type Ward = ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) & {
  readonly guard: Guard<IncomingMessage, ServerResponse>;
};

/**
 * ```ts
 * const ward = hitwarden({ bans });
 * createServer(async (req, res) => {
 *   if (!(await ward(req, res))) return; // refused: answered with 429
 *   res.end('hello');
 * });
 * ```
 * Throws `ConfigError` (path `hitwarden/node.<option>`) for a bad option or bans config.
 */
export function hitwarden(options: NodeGuardOptions): Ward {
  const guard = new Guard<IncomingMessage, ServerResponse>(options, 'hitwarden/node', ['route']);
  const route = functionOption(
    'hitwarden/node.route',
    options.route,
    defaultRoute,
    '(req) => string',
  );
  const watch = guard.watchesResponses(true);
  const counted = guard.counter !== undefined;
  const handle = (req: IncomingMessage, res: ServerResponse, admission: Admission): boolean => {
    if (watch) {
      const token = admission.token;
      res.once('finish', () => guard.finished(req, res, token));
    }
    if (admission.allowed) {
      applyHeaders(res, admission.headers);
      return true;
    }
    res.statusCode = guard.statusCode;
    applyHeaders(res, admission.refusal.headers);
    guard.refuse(req, res, admission.refusal, (body) => sendJson(res, body));
    return false;
  };
  const ward = (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const admission = guard.admit(
      req,
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      counted ? routeOf(route, req) : undefined,
    );
    if (admission instanceof Promise) return admission.then((a) => handle(req, res, a));
    // Decided at once (the memory store): no promise of our own, one of two made up front.
    return handle(req, res, admission) ? TRUE : FALSE;
  };
  return Object.assign(ward, { guard });
}

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

function defaultRoute(req: IncomingMessage): string {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return `${req.method} ${query === -1 ? url : url.slice(0, query)}`;
}

/** `route(req)`, or a fixed key when the user's function fails (the guard never throws). */
function routeOf(route: (req: IncomingMessage) => string, req: IncomingMessage): string {
  try {
    const key = route(req);
    return typeof key === 'string' ? key : '(unnamed)';
  } catch {
    return '(unnamed)';
  }
}
