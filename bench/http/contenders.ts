/*
 * The contenders of the HTTP benchmark, in the order the first round runs them. Each names its
 * server module (servers/<server>.ts, which exports `build`: see contract.ts) and its
 * framework; its throughput is compared, round by round, with that framework's bare server
 * (the entry with `bare: true`). `redis: true` starts the run's private redis-server and
 * passes its URL to the module.
 */

export type Framework = 'fastify' | 'express' | 'node';

export interface Contender {
  /** The name in the results and in `--only`. */
  readonly name: string;
  /** The module under servers/, without `.ts`. */
  readonly server: string;
  readonly framework: Framework;
  /** The framework's bare server: the baseline of every contender of that framework. */
  readonly bare?: true;
  /** Needs the run's redis-server. */
  readonly redis?: true;
}

export const contenders: readonly Contender[] = [
  { name: 'fastify', server: 'fastify-bare', framework: 'fastify', bare: true },
  { name: 'fastify + a no-op hook', server: 'fastify-noop', framework: 'fastify' },
  { name: 'fastify + hitwarden', server: 'fastify-hitwarden', framework: 'fastify' },
  {
    name: 'fastify + hitwarden (headers on every response)',
    server: 'fastify-hitwarden-headers',
    framework: 'fastify',
  },
  { name: 'fastify + @fastify/rate-limit', server: 'fastify-rate-limit', framework: 'fastify' },
  {
    name: 'fastify + hitwarden (Redis)',
    server: 'fastify-hitwarden-redis',
    framework: 'fastify',
    redis: true,
  },
  {
    name: 'fastify + @fastify/rate-limit (Redis)',
    server: 'fastify-rate-limit-redis',
    framework: 'fastify',
    redis: true,
  },
  { name: 'express', server: 'express-bare', framework: 'express', bare: true },
  { name: 'express + a no-op middleware', server: 'express-noop', framework: 'express' },
  { name: 'express + hitwarden', server: 'express-hitwarden', framework: 'express' },
  {
    name: 'express + hitwarden (headers on every response)',
    server: 'express-hitwarden-headers',
    framework: 'express',
  },
  { name: 'express + express-rate-limit', server: 'express-rate-limit', framework: 'express' },
  { name: 'node:http', server: 'node-bare', framework: 'node', bare: true },
  { name: 'node:http + hitwarden', server: 'node-hitwarden', framework: 'node' },
];

/** Every framework's bare contender, for the ratios. */
export function bareOf(framework: Framework): Contender {
  const bare = contenders.find((c) => c.framework === framework && c.bare);
  if (bare === undefined) throw new Error(`no bare ${framework} contender`);
  return bare;
}
