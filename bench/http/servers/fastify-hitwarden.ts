import Fastify from 'fastify';
import { hitwarden } from 'hitwarden/fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { BENCH_BANS } from '../hitwarden-bans.js';

/** Fastify with hitwarden registered as its README shows: the RateLimit fields on refusals. */
export const build: BuildServer = async () => {
  const app = Fastify({ logger: false });
  await app.register(hitwarden, { bans: BENCH_BANS });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
