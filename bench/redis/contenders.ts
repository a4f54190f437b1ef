import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
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

export type ContenderFactory = (client: Redis) => Promise<Contender>;

/** The floor of one-call-per-decision designs: a trivial counting script, one EVALSHA each. */
const TRIVIAL_LUA = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`;

async function trivialEvalsha(client: Redis): Promise<Contender> {
  const sha = createHash('sha1').update(TRIVIAL_LUA).digest('hex');
  await client.script('LOAD', TRIVIAL_LUA);
  return {
    decide: (token) => client.evalsha(sha, 1, `bench:trivial:{${token}}`, 60),
    close: async () => {},
  };
}

/** rate-limiter-flexible's Redis limiter, as its README sets it up; never over the limit, so
 *  every call is a resolved decision (a refusal is a rejected promise there, which costs more). */
async function rateLimiterFlexible(client: Redis): Promise<Contender> {
  const limiter = new RateLimiterRedis({
    storeClient: client,
    keyPrefix: 'bench:rlf',
    points: 1_000_000_000,
    duration: 3600,
  });
  return { decide: (token) => limiter.consume(token), close: async () => {} };
}

export const contenders: Record<string, ContenderFactory> = {
  'evalsha-trivial': trivialEvalsha,
  'rate-limiter-flexible': rateLimiterFlexible,
};
