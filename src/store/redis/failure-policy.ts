import { ConfigError, quoteInput, StoreError } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import { MemoryStore } from '../memory/memory-store.js';
import type { Decision, StoreMetric } from '../store.js';

/** What a `RedisStore` does with a decision when Redis does not answer in time. */
export type RedisFailurePolicy = 'failOpen' | 'failClosed' | 'fallback';

export function failurePolicyOption(value: unknown): RedisFailurePolicy {
  const policy = value === undefined ? 'fallback' : value;
  if (policy !== 'failOpen' && policy !== 'failClosed' && policy !== 'fallback') {
    throw new ConfigError(
      'RedisStore.onFailure',
      `must be 'failOpen', 'failClosed' or 'fallback', got ${quoteInput(policy)}`,
    );
  }
  return policy;
}

const ZERO_STATS = { token_rate_1m: 0, token_rate_10m: 0, token_rate_60m: 0 };
// No ban is known to either (`banMs` 0), nor a quota: Redis, which holds them, did not answer.
const REFUSED: Decision = { passed: false, stats: ZERO_STATS, tripped: [], blocking: [], banMs: 0 };
const PASSED_UNCOUNTED: Decision = {
  passed: true,
  stats: ZERO_STATS,
  tripped: [],
  blocking: [],
  banMs: 0,
};

/**
 * The answers given when Redis fails or does not answer in time (`onFailure`): `fallback` and
 * `failOpen` count in a local `MemoryStore` (this process's counts alone, never copied to
 * Redis); `fallback` takes its decision, `failOpen` only its rates and passes the event;
 * `failClosed` refuses, counting nothing.
 */
export class FailurePolicy {
  readonly policy: RedisFailurePolicy;
  #local: MemoryStore | undefined;

  constructor(policy: RedisFailurePolicy) {
    this.policy = policy;
  }

  /** `quota`: `StoreSetup.quota`, so that `fallback`'s decisions carry theirs. */
  open(metrics: readonly StoreMetric[], clock: Clock, quota = false): void {
    if (this.policy === 'failClosed') return;
    this.#local = new MemoryStore();
    this.#local.openSync({ metrics, clock, quota });
  }

  /** Answers each decision, in order; `closed` (the store is closing): refuses them all.
   *  Settling a decision Redis already answered does nothing. */
  decide(
    tokens: readonly string[],
    metrics: readonly number[],
    settle: readonly ((decision: Decision) => void)[],
    closed: boolean,
  ): void {
    const local = this.#local;
    settle.forEach((answer, i) => {
      if (local === undefined || closed) {
        answer(REFUSED);
        return;
      }
      local.incr(tokens[i]!, metrics[i]!).then(
        (decision) =>
          answer(
            this.policy === 'fallback'
              ? decision
              : { passed: true, stats: decision.stats, tripped: [], blocking: [], banMs: 0 },
          ),
        () => answer(this.policy === 'failClosed' ? REFUSED : PASSED_UNCOUNTED),
      );
    });
  }

  async close(): Promise<void> {
    await this.#local?.close();
  }
}

/** `cause` as the `StoreError` of a failed `operation` (a timeout is one already). */
export function storeErrorOf(operation: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(`Redis ${operation} failed: ${message}`, { cause });
}
