import type { Server } from 'node:http';

/*
 * What a contender of the HTTP benchmark is: a module under servers/ that builds one server
 * with the hello route, in a process of its own (child.ts). The module exports `build`; the
 * runner gives it a context, then asks it to listen on a free port of 127.0.0.1 and, at the
 * end of the run, to close.
 */

/** What the runner hands every server module. */
export interface ServerContext {
  /** `redis://127.0.0.1:<port>` of the run's private redis-server, for contenders with
   *  `redis: true` (flushed before each of their runs); undefined for the others. */
  readonly redisUrl: string | undefined;
  /** True when the load comes through a proxy at 127.0.0.1 naming many clients in
   *  X-Forwarded-For (`--clients N`): each server must then trust 127.0.0.1 as its proxy and
   *  key its limiter by the forwarded client, as it would behind a load balancer. */
  readonly behindProxy: boolean;
}

/** A built server, not yet listening. */
export interface BenchServer {
  /** Starts listening on `host`, port 0 (the system picks a free one); resolves the port. */
  listen(host: string): Promise<number>;
  /** Stops listening and releases what the server holds (a Redis client, …). */
  close(): Promise<void>;
}

/** The one export of a module under servers/. */
export type BuildServer = (context: ServerContext) => Promise<BenchServer>;

/** The body of GET /hello on every contender. */
export const HELLO = { hello: 'world' } as const;

/** `BenchServer` around a node:http server (node:http itself, Express). */
export function nodeServer(
  server: Server,
  release: () => Promise<void> = async () => {},
): BenchServer {
  return {
    listen: (host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => {
          const address = server.address();
          if (address !== null && typeof address === 'object') resolve(address.port);
          else reject(new Error('the server has no port'));
        });
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      await release();
    },
  };
}
