import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { fastifyOptions } from '../proxy.js';

/**
 * Fastify's own limiter on Redis (the run's private redis-server, one ioredis client, as its
 * README sets it up), with a limit no run reaches: one Redis round trip per request.
 */
export const build: BuildServer = async (context) => {
  const { redisUrl } = context;
  if (redisUrl === undefined) throw new Error('fastify-rate-limit-redis needs the redis-server');
  const redis = new Redis(redisUrl, { connectTimeout: 2_000, maxRetriesPerRequest: 1 });
  const app = Fastify(fastifyOptions(context));
  await app.register(rateLimit, {
    max: 1_000_000_000,
    timeWindow: '1 minute',
    redis,
    nameSpace: 'bench-http:',
  });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app, async () => {
    redis.disconnect();
  });
};
