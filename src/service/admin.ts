import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../errors.js';
import type { ServiceContext } from './context.js';
import { RequestError, sendError, tokenParam } from './replies.js';

/*
 * The admin API under /admin: ban, unban, reset. Only with `Authorization: Bearer <token>`;
 * the token is compared in constant time over SHA-256 digests (equal lengths whatever was
 * sent, so neither the comparison nor its length check says how much of a guess was right).
 * Without a configured token every admin route answers 403 and says how to turn them on.
 */

export const ADMIN_OFF_MESSAGE =
  'admin routes are off: start the service with --admin-token or HITWARDEN_ADMIN_TOKEN';

/** A constant-time check of an Authorization header against the configured token. */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = digest(token);
  return (header) => {
    if (typeof header !== 'string') return false;
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (match === null) return false;
    return timingSafeEqual(digest(match[1]!), expected);
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function registerAdmin(
  app: FastifyInstance,
  ctx: ServiceContext,
  adminToken: string | undefined,
  reset: () => Promise<void>,
): void {
  const authorized = adminToken === undefined ? undefined : bearerCheck(adminToken);
  const guard = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (authorized === undefined) {
      sendError(reply, 'forbidden', ADMIN_OFF_MESSAGE);
      return;
    }
    if (!authorized(request.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer realm="hitwarden"');
      sendError(reply, 'unauthorized', 'send Authorization: Bearer <the admin token>');
      return;
    }
    done();
  };

  app.register(async (admin) => {
    admin.addHook('onRequest', guard);

    admin.post('/admin/bans', async (request, reply) => {
      const body = request.body as Record<string, unknown> | undefined;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new RequestError('bad_request', 'expected a JSON body { token, metric, threshold? }');
      }
      const token = tokenParam('token', body.token);
      const metric = body.metric;
      if (typeof metric !== 'string' || !ctx.banHammer.metrics.includes(metric)) {
        throw new RequestError(
          'bad_request',
          `metric must be one of ${ctx.banHammer.metrics.map((m) => JSON.stringify(m)).join(', ')}`,
        );
      }
      const threshold = body.threshold ?? 0;
      let status: Awaited<ReturnType<typeof ctx.banHammer.now>>;
      try {
        status = await ctx.banHammer.now(token, metric, threshold as number);
      } catch (error) {
        if (error instanceof ConfigError) throw new RequestError('bad_request', error.message);
        throw error;
      }
      const ban = status.bans.find((b) => b.threshold === threshold);
      const until = ban?.until ?? status.blocked_until ?? ctx.clock();
      request.log.info({ token, metric, threshold, until }, 'admin: banned');
      return reply.code(201).send({ token, metric, threshold, until });
    });

    admin.delete('/admin/bans/:token', async (request) => {
      const token = tokenParam('token', (request.params as { token: unknown }).token);
      await ctx.banHammer.lift(token);
      request.log.info({ token }, 'admin: lifted');
      return { token, lifted: true };
    });

    admin.post('/admin/reset', async (request) => {
      await reset();
      request.log.info('admin: reset');
      return { reset: true };
    });
  });
}
