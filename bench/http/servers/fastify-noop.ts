import Fastify from 'fastify';
import { type BuildServer, HELLO } from '../contract.js';
import { fastifyServer } from '../fastify-server.js';
import { fastifyOptions } from '../proxy.js';

/** Fastify with one onRequest hook that does nothing: what a hook costs Fastify before it
 *  does any work (the floor under every Fastify limiter). */
export const build: BuildServer = async (context) => {
  const app = Fastify(fastifyOptions(context));
  app.addHook('onRequest', (_request, _reply, done) => {
    done();
  });
  app.get('/hello', async () => HELLO);
  return fastifyServer(app);
};
