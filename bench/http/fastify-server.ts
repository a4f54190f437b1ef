import type { FastifyInstance } from 'fastify';
import type { BenchServer } from './contract.js';

/** `BenchServer` around a Fastify instance (shared by the Fastify contenders). */
export function fastifyServer(
  app: FastifyInstance,
  release: () => Promise<void> = async () => {},
): BenchServer {
  return {
    listen: async (host: string) => {
      await app.listen({ host, port: 0 });
      const address = app.server.address();
      if (address === null || typeof address !== 'object') throw new Error('fastify has no port');
      return address.port;
    },
    close: async () => {
      await app.close();
      await release();
    },
  };
}
