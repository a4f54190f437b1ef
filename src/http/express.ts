import type { IncomingMessage, ServerResponse } from 'node:http';
import { Guard, type GuardOptions } from './guard.js';
import { applyHeaders, sendJson } from './respond.js';

/*
 * hitwarden for Express 5. The middleware runs before routing, so the hit counter's
 * route template is read when the response has finished: `req.baseUrl + req.route.path`,
 * or `(unmatched)` for a request no route took (a 404, or one refused here before routing).
 * Express's own `trust proxy` setting is not used: `trustProxy` is this guard's, so the
 * rule is the same on every framework.
 */

/** The parts of Express's request and response the adapter reads (no import of express). */
export interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}
export type ExpressResponse = ServerResponse;
type Next = (error?: unknown) => void;

export type ExpressGuardOptions = GuardOptions<ExpressRequest, ExpressResponse>;

export type ExpressMiddleware = ((
  req: ExpressRequest,
  res: ExpressResponse,
  next: Next,
) => void) & {
  readonly guard: Guard<ExpressRequest, ExpressResponse>;
};

/**
 * ```ts
 * import { hitwarden } from 'hitwarden/express';
 * app.use(hitwarden({ bans }));
 * ```
 * Throws `ConfigError` (path `hitwarden/express.<option>`) for a bad option or bans config.
 */
export function hitwarden(options: ExpressGuardOptions): ExpressMiddleware {
  const guard = new Guard<ExpressRequest, ExpressResponse>(options, 'hitwarden/express');
  const watch = guard.watchesResponses;
  const middleware = (req: ExpressRequest, res: ExpressResponse, next: Next): void => {
    guard.admit(req, req.socket.remoteAddress, req.headers['x-forwarded-for']).then((admission) => {
      if (watch) {
        const token = admission.token;
        res.once('finish', () => guard.finished(req, res, token, routeTemplate(req)));
      }
      if (admission.allowed) {
        applyHeaders(res, admission.headers);
        next();
        return;
      }
      res.statusCode = guard.statusCode;
      applyHeaders(res, admission.refusal.headers);
      guard.refuse(req, res, admission.refusal, (body) => sendJson(res, body));
    }, next);
  };
  return Object.assign(middleware, { guard });
}

function routeTemplate(req: ExpressRequest): string {
  const path = req.route?.path;
  if (typeof path !== 'string') return `${req.method} (unmatched)`;
  return `${req.method} ${req.baseUrl ?? ''}${path}`;
}
