import type { FastifyInstance } from 'fastify';
import { RequestError, sendError } from './replies.js';

/*
 * The demo application the guard protects: a few ordinary routes and a login with one
 * documented account. A wrong password is a 401, which the guard's countAfter counts as
 * `login_failed` (a right one as `login_successful`), so a brute force climbs the login
 * tiers through the real request path.
 */

export const DEMO_ACCOUNT = Object.freeze({ username: 'demo', password: 'hitwarden' });

export function registerDemoRoutes(app: FastifyInstance): void {
  app.get('/hello', async () => ({ message: 'hello' }));

  app.get('/products/:id', async (request) => {
    const { id } = request.params as { id: string };
    return { id, name: `Product ${id}`, price: 9.99 };
  });

  app.get('/search', async (request) => {
    const { q } = request.query as { q?: unknown };
    return { q: typeof q === 'string' ? q : '', results: [] };
  });

  app.post('/login', async (request, reply) => {
    const body = request.body as { username?: unknown; password?: unknown } | null | undefined;
    if (
      body === null ||
      typeof body !== 'object' ||
      typeof body.username !== 'string' ||
      typeof body.password !== 'string'
    ) {
      throw new RequestError('bad_request', 'expected a JSON body { username, password }');
    }
    if (body.username === DEMO_ACCOUNT.username && body.password === DEMO_ACCOUNT.password) {
      return { ok: true };
    }
    return sendError(reply, 'unauthorized', 'wrong username or password');
  });
}
