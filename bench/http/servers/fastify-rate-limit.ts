import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { fastifyOptions } from '../proxy.js';

/**
 * Fastify's own limiter, as its README sets it up (global, in-memory store, its default
 * headers on every response), with a limit no run reaches: every request is let through.
 */
export const build: BuildServer = async (context) => {
  const app = Fastify(fastifyOptions(context));
  await app.register(rateLimit, { max: 1_000_000_000, timeWindow: '1 minute' });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
