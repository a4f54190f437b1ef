import type { NextFunction, Request, Response } from 'express';
import { type Admission, Guard, type GuardOptions } from './guard.js';
import { applyHeaders, sendJson } from './respond.js';

/*
 * hitwarden for Express 5. The middleware runs before routing, so the hit counter's
 * route template is read when the response has finished: `req.baseUrl + req.route.path`,
 * or `(unmatched)` for a request no route took (a 404, or one refused here before routing).
 * Express's own `trust proxy` setting is not used: `trustProxy` is this guard's, so the
 * rule is the same on every framework.
 */

export type ExpressGuardOptions = GuardOptions<Request, Response>;

export type ExpressMiddleware = ((req: Request, res: Response, next: NextFunction) => void) & {
  readonly guard: Guard<Request, Response>;
};

/**
 * ```ts
 * import { hitwarden } from 'hitwarden/express';
 * app.use(hitwarden({ bans }));
 * ```
 * Throws `ConfigError` (path `hitwarden/express.<option>`) for a bad option or bans config.
 */
export function hitwarden(options: ExpressGuardOptions): ExpressMiddleware {
  const guard = new Guard<Request, Response>(options, 'hitwarden/express');
  // The route template is known only once routing is done: the counter is fed at the end.
  const watch = guard.watchesResponses(false);
  const handle = (req: Request, res: Response, next: NextFunction, admission: Admission) => {
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
  };
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const admission = guard.admit(req, req.socket.remoteAddress, req.headers['x-forwarded-for']);
    if (admission instanceof Promise) admission.then((a) => handle(req, res, next, a), next);
    else handle(req, res, next, admission);
  };
  return Object.assign(middleware, { guard });
}

function routeTemplate(req: Request): string {
  const path: unknown = req.route?.path;
  if (typeof path !== 'string') return `${req.method} (unmatched)`;
  return `${req.method} ${req.baseUrl ?? ''}${path}`;
}
