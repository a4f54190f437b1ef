import Fastify from 'fastify';
import { hitwarden } from 'hitwarden/fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { BENCH_BANS } from '../hitwarden-bans.js';
import { fastifyOptions, hitwardenTrust } from '../proxy.js';

/** Fastify with hitwarden registered as its README shows: the RateLimit fields on refusals. */
export const build: BuildServer = async (context) => {
  const app = Fastify(fastifyOptions(context));
  await app.register(hitwarden, { bans: BENCH_BANS, trustProxy: hitwardenTrust(context) });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
