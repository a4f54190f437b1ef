import Fastify from 'fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { fastifyOptions } from '../proxy.js';

/** Fastify 5 with the hello route and nothing else: the baseline of every Fastify contender. */
export const build: BuildServer = async (context) => {
  const app = Fastify(fastifyOptions(context));
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
