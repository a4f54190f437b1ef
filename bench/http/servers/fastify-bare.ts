import Fastify from 'fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';

/** Fastify 5 with the hello route and nothing else: the baseline of every Fastify contender. */
export const build: BuildServer = async () => {
  const app = Fastify({ logger: false });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
