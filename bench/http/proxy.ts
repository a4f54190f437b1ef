import type { ServerContext } from './contract.js';

/*
 * How each kind of server trusts the proxy of a `--clients N` run (contract.ts,
 * `behindProxy`): Fastify's and Express's own settings for their limiters, hitwarden's
 * `trustProxy` for its guard. Off, every server reads the socket's address, as by default.
 */

export function fastifyOptions(context: ServerContext): {
  logger: false;
  trustProxy: string | false;
} {
  return { logger: false, trustProxy: context.behindProxy ? '127.0.0.1' : false };
}

export function expressTrust(
  app: { set(name: string, value: unknown): unknown },
  context: ServerContext,
): void {
  if (context.behindProxy) app.set('trust proxy', 'loopback');
}

export function hitwardenTrust(context: ServerContext): string[] {
  return context.behindProxy ? ['127.0.0.1'] : [];
}
