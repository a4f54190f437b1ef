import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Admission, Guard, type GuardOptions } from './guard.js';

/*
 * hitwarden as a Fastify plugin (Fastify 5). It is marked the way fastify-plugin marks
 * one (skip-override), so its hooks apply to every route of the instance it is registered on,
 * not only to routes inside the plugin. Fastify routes before `onRequest`, so the hit counter
 * gets the route template (`request.routeOptions.url`) there; `onResponse` is hooked only for
 * `countAfter`. Fastify's own
 * `trustProxy` is not used: `trustProxy` is this guard's, the same rule on every framework.
 */

export type FastifyGuardOptions = GuardOptions<FastifyRequest, FastifyReply>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The hitwarden guard registered on this instance: its banHammer, tracker, counter. */
    hitwarden: Guard<FastifyRequest, FastifyReply>;
  }
  interface FastifyRequest {
    /** The client token hitwarden decided this request under (undefined: not decided). */
    hitwardenToken: string | undefined;
  }
}

/**
 * ```ts
 * import { hitwarden } from 'hitwarden/fastify';
 * await app.register(hitwarden, { bans });
 * app.hitwarden; // the Guard: its banHammer, tracker and counter (closed with the app)
 * ```
 * Registration fails with a `ConfigError` (path `hitwarden/fastify.<option>`) for a bad
 * option or bans config.
 */
export async function hitwarden(
  fastify: FastifyInstance,
  options: FastifyGuardOptions,
): Promise<void> {
  const guard = new Guard<FastifyRequest, FastifyReply>(
    pluginOptions(options),
    'hitwarden/fastify',
  );
  fastify.decorate('hitwarden', guard);
  fastify.decorateRequest('hitwardenToken', undefined);
  const routed = guard.counter !== undefined;
  const handle = (
    request: FastifyRequest,
    reply: FastifyReply,
    done: () => void,
    admission: Admission,
  ): void => {
    request.hitwardenToken = admission.token;
    if (admission.allowed) {
      for (const [name, value] of admission.headers) reply.header(name, value);
      done();
      return;
    }
    reply.code(guard.statusCode);
    const { headers } = admission.refusal;
    for (const name in headers) reply.header(name, headers[name]!);
    // A hook that sends a reply ends the request there; `done` is not called.
    guard.refuse(request, reply, admission.refusal, (body) => reply.send(body));
  };
  // A callback hook: a decision made at once costs no promise.
  fastify.addHook('onRequest', (request, reply, done) => {
    const admission = guard.admit(
      request,
      request.raw.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      routed ? routeOf(request) : undefined,
    );
    if (admission instanceof Promise) admission.then((a) => handle(request, reply, done, a));
    else handle(request, reply, done, admission);
  });
  fastify.addHook('onClose', (_instance, done) => {
    guard.close().then(
      () => done(),
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  });
  if (guard.watchesResponses(true)) {
    fastify.addHook('onResponse', (request, reply, done) => {
      guard.finished(request, reply, request.hitwardenToken);
      done();
    });
  }
}

function routeOf(request: FastifyRequest): string {
  const url = request.routeOptions?.url;
  return url === undefined ? `${request.method} (unmatched)` : `${request.method} ${url}`;
}

/** Fastify hands a plugin its options merged with its own (`prefix`, `logLevel`…): only
 *  the guard's go to the guard. */
function pluginOptions(options: FastifyGuardOptions): FastifyGuardOptions {
  if (options === null || typeof options !== 'object') return options;
  const {
    prefix: _p,
    logLevel: _l,
    logSerializers: _s,
    ...rest
  } = options as FastifyGuardOptions & {
    prefix?: unknown;
    logLevel?: unknown;
    logSerializers?: unknown;
  };
  return rest;
}

// What fastify-plugin would set: no encapsulation, and a name in Fastify's errors and logs.
Object.assign(hitwarden, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'hitwarden',
  [Symbol.for('plugin-meta')]: { name: 'hitwarden', fastify: '5.x' },
});

export default hitwarden;
