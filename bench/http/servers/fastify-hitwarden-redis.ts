import Fastify from 'fastify';
import { RedisStore } from 'hitwarden';
import { hitwarden } from 'hitwarden/fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { BENCH_BANS } from '../hitwarden-bans.js';
import { fastifyOptions, hitwardenTrust } from '../proxy.js';

/** Fastify with hitwarden on a Redis store (the run's private redis-server): every request
 *  decided in Redis, in coalesced script calls. */
export const build: BuildServer = async (context) => {
  const { redisUrl } = context;
  if (redisUrl === undefined) throw new Error('fastify-hitwarden-redis needs the redis-server');
  const store = new RedisStore({ url: redisUrl, prefix: 'bench-http:' });
  const app = Fastify(fastifyOptions(context));
  await app.register(hitwarden, { bans: BENCH_BANS, trustProxy: hitwardenTrust(context), store });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app, async () => {
    await store.close();
  });
};
