import { createHash } from 'node:crypto';
import { BanHammer, RedisStore } from 'hitwarden';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';

/*
 * The contenders of the Redis benchmark. Each makes one decision per `decide(token)` call and
 * is measured in a process of its own, on the same redis-server, with the same ioredis client
 * settings (see worker.ts).
 */

export interface Contender {
  decide(token: string): Promise<unknown>;
  close(): Promise<void>;
}

export type ContenderFactory = (client: Redis | Cluster) => Promise<Contender>;

/** The floor of one-call-per-decision designs: a trivial counting script, one EVALSHA each. */
const TRIVIAL_LUA = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`;

async function trivialEvalsha(client: Redis | Cluster): Promise<Contender> {
  const sha = createHash('sha1').update(TRIVIAL_LUA).digest('hex');
  const run = async (key: string) => {
    try {
      return await client.evalsha(sha, 1, key, 60);
    } catch {
      return client.eval(TRIVIAL_LUA, 1, key, 60);
    }
  };
  return {
    decide: (token) => run(`bench:trivial:{${token}}`),
    close: async () => {},
  };
}

/** rate-limiter-flexible's Redis limiter, as its README sets it up; never over the limit, so
 *  every call is a resolved decision (a refusal is a rejected promise there, which costs more). */
async function rateLimiterFlexible(client: Redis | Cluster): Promise<Contender> {
  const limiter = new RateLimiterRedis({
    storeClient: client,
    keyPrefix: 'bench:rlf',
    points: 1_000_000_000,
    duration: 3600,
  });
  return { decide: (token) => limiter.consume(token), close: async () => {} };
}

/**
 * hitwarden: a BanHammer on a RedisStore over the same client, three thresholds (every one
 * evaluated exactly on every event), the three rates and the bans, one atomic script
 * evaluation per decision; decisions in flight together share a script call. On one token the
 * thresholds trip within the first second (an attacker), so most decisions are refusals that
 * still count; on 100k tokens nothing trips.
 */
async function hitwarden(client: Redis | Cluster): Promise<Contender> {
  const store = new RedisStore({ client, prefix: 'bench:hw:' });
  const hammer = new BanHammer(
    {
      login: {
        thresholds: [
          { limit: 1000, window: 60, action: [], action_duration: 60 },
          { limit: 10_000, window: 600, action: [], action_duration: 600 },
          { limit: 100_000, window: 3600, action: [], action_duration: 3600 },
        ],
      },
    },
    { store, returnRates: true },
  );
  await hammer.status('warm-up', 'login');
  return { decide: (token) => hammer.incr(token, 'login'), close: () => hammer.close() };
}

export const contenders: Record<string, ContenderFactory> = {
  hitwarden,
  'evalsha-trivial': trivialEvalsha,
  'rate-limiter-flexible': rateLimiterFlexible,
};
