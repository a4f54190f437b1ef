/*
 * One small application per adapter, each a real server on a free port of 127.0.0.1, with
 * the same routes, so that one suite (adapters.test.ts) runs against all three:
 *
 *   GET  /hello            200 "hello"
 *   GET  /items/:id        200 { id }
 *   POST /login            401 unless the header x-password is "right", then 200
 *   anything else          404
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { hitwarden as expressGuard } from '../../src/http/express.js';
import { hitwarden as fastifyGuard } from '../../src/http/fastify.js';
import type { Guard, GuardOptions } from '../../src/http/guard.js';
import { hitwarden as nodeGuard } from '../../src/http/node.js';

export interface Running {
  readonly url: string;
  readonly guard: Guard<unknown, unknown>;
  close(): Promise<void>;
}

export interface Adapter {
  readonly name: string;
  start(options: GuardOptions<never, never>): Promise<Running>;
}

function listening(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export const expressAdapter: Adapter = {
  name: 'express',
  async start(options) {
    const app = express();
    const middleware = expressGuard(options as never);
    app.use(middleware);
    app.get('/hello', (_req, res) => {
      res.send('hello');
    });
    app.get('/items/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.post('/login', (req, res) => {
      res.status(req.get('x-password') === 'right' ? 200 : 401).send('login');
    });
    const server = createServer(app);
    const url = await listening(server);
    return {
      url,
      guard: middleware.guard as Guard<unknown, unknown>,
      close: () => closing(server),
    };
  },
};

export const fastifyAdapter: Adapter = {
  name: 'fastify',
  async start(options) {
    const app = Fastify();
    await app.register(fastifyGuard, options as never);
    app.get('/hello', async () => 'hello');
    app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    app.post('/login', async (request, reply) => {
      reply.code(request.headers['x-password'] === 'right' ? 200 : 401);
      return 'login';
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      guard: (app as unknown as { hitwarden: Guard<unknown, unknown> }).hitwarden,
      close: () => app.close(),
    };
  },
};

export const nodeAdapter: Adapter = {
  name: 'node',
  async start(options) {
    const ward = nodeGuard({
      // A router's job, done by hand: the counter's key is the route template.
      route: (req) =>
        `${req.method} ${(req.url ?? '').startsWith('/items/') ? '/items/:id' : (req.url ?? '')}`,
      ...(options as GuardOptions<IncomingMessage, ServerResponse>),
    });
    const server = createServer(async (req, res) => {
      if (!(await ward(req, res))) return;
      const url = req.url ?? '';
      if (req.method === 'GET' && url === '/hello') res.end('hello');
      else if (req.method === 'GET' && url.startsWith('/items/')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: url.slice('/items/'.length) }));
      } else if (req.method === 'POST' && url === '/login') {
        res.statusCode = req.headers['x-password'] === 'right' ? 200 : 401;
        res.end('login');
      } else {
        res.statusCode = 404;
        res.end('not found');
      }
    });
    const url = await listening(server);
    return { url, guard: ward.guard as Guard<unknown, unknown>, close: () => closing(server) };
  },
};

export const ADAPTERS: readonly Adapter[] = [expressAdapter, fastifyAdapter, nodeAdapter];
