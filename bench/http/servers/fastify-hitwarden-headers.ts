import Fastify from 'fastify';
import { hitwarden } from 'hitwarden/fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { BENCH_BANS } from '../hitwarden-bans.js';
import { fastifyOptions, hitwardenTrust } from '../proxy.js';

/** Fastify with hitwarden sending the RateLimit fields on every response, as
 *  @fastify/rate-limit does by default. */
export const build: BuildServer = async (context) => {
  const app = Fastify(fastifyOptions(context));
  await app.register(hitwarden, {
    bans: BENCH_BANS,
    trustProxy: hitwardenTrust(context),
    headers: 'all',
  });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
