import { createRequire } from 'node:module';
import type { Cluster } from 'ioredis';
import { ConfigError, quoteInput } from '../../errors.js';
import { readOption } from '../../options.js';
import type { RedisClient } from './script.js';

/*
 * ioredis is loaded on first use, never by importing hitwarden. Loading it defines a class
 * that extends `String` (its RESP3 `VerbatimString`), and on Node 20 (V8 11.3) the mere
 * existence of a `String` subclass slows string scanning in the whole process: the IP
 * tracker's request path — a `charCodeAt` loop over the address — measured 60–90% slower
 * (bench/tracker, bare-table contender with and without the import). A process that uses
 * only the tracker, the counter or the memory store should not pay for a Redis client it
 * never opens; one that opens a Redis store (or passes its own client) pays it from then on.
 */
const require = createRequire(import.meta.url);
let ioredis: typeof import('ioredis') | undefined;

function loadIoredis(): typeof import('ioredis') {
  ioredis ??= require('ioredis') as typeof import('ioredis');
  return ioredis;
}

/** Whether `client` is a Redis Cluster client, told without loading ioredis. */
export function isClusterClient(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

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
  connectTimeout?: number;
  retryStrategy?: (times: number) => number | null;
}

/**
 * The client to use and whether closing the store should close it. `component` names the
 * store in a refused option's path (`RedisStore.url`): exactly one of `url` (a string) and
 * `client` (an object) must be given.
 */
export function connect(
  component: string,
  options: RedisConnectionOptions,
  clientOptions: OwnClientSettings = {},
): { client: RedisClient; owned: boolean; cluster: boolean } {
  const { url, client: given } = options as { url?: unknown; client?: unknown };
  if (given !== undefined) {
    if (url !== undefined) {
      throw new ConfigError(component, 'give either url or client, not both');
    }
    if (given === null || typeof given !== 'object') {
      throw new ConfigError(
        `${component}.client`,
        `must be an ioredis Redis or Cluster client, got ${quoteInput(given)}`,
      );
    }
    const client = given as RedisClient;
    // The user's object: a getter or a Proxy that throws is a ConfigError here, not later.
    const cluster = readOption(`${component}.client`, () => isClusterClient(client));
    return { client, owned: false, cluster };
  }
  if (typeof url !== 'string') {
    throw new ConfigError(
      `${component}.url`,
      `must be a redis:// URL string (or give client instead), got ${quoteInput(url)}`,
    );
  }
  const client = new (loadIoredis().Redis)(url, {
    maxRetriesPerRequest: 1,
    ...clientOptions,
  });
  // Errors surface on the commands; without a listener ioredis would print each retry.
  client.on('error', () => {});
  return { client, owned: true, cluster: false };
}
