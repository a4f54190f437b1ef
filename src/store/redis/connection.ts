import { Redis } from 'ioredis';
import type { RedisClient } from './script.js';

/** How a Redis-backed part of hitwarden reaches Redis. */
export type RedisConnectionOptions =
  | {
      /** `redis://[user:password@]host:port[/db]`; the store opens and closes its own client. */
      url: string;
    }
  | {
      /** A client you own (`Redis` or `Cluster`); the store never closes it. */
      client: RedisClient;
    };

/** Client settings a store picks for a client it opens itself. */
export interface OwnClientSettings {
  maxRetriesPerRequest?: number;
  enableOfflineQueue?: boolean;
  commandTimeout?: number;
  connectTimeout?: number;
  retryStrategy?: (times: number) => number | null;
}

/** The client to use and whether closing the store should close it. */
export function connect(
  options: RedisConnectionOptions,
  clientOptions: OwnClientSettings = {},
): { client: RedisClient; owned: boolean } {
  if ('client' in options) return { client: options.client, owned: false };
  const client = new Redis(options.url, { maxRetriesPerRequest: 1, ...clientOptions });
  // Errors surface on the commands; without a listener ioredis would print each retry.
  client.on('error', () => {});
  return { client, owned: true };
}
