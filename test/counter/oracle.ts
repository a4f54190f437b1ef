import fc from 'fast-check';
import { type CountingStrategy, HitCounter, ManualClock } from '../../src/index.js';

/** Every accepted hit, kept in full: the brute-force answer the strategies are held to. */
export class Oracle {
  readonly hits = new Map<string, number[]>();

  record(key: string, at: number): void {
    const list = this.hits.get(key) ?? [];
    list.push(at);
    this.hits.set(key, list);
  }

  /** Exact hits in `(now − span, now]` (nothing is ever stamped after `now`). */
  exact(key: string, now: number, spanMs: number): number {
    return (this.hits.get(key) ?? []).filter((at) => at > now - spanMs).length;
  }

  /** Hits in buckets of `bucketMs` from the one holding `now − span` on: FixedWindow's rule. */
  buckets(key: string, now: number, spanMs: number, bucketMs: number): number {
    const first = Math.floor((now - spanMs) / bucketMs);
    return (this.hits.get(key) ?? []).filter((at) => Math.floor(at / bucketMs) >= first).length;
  }

  /** Hits in the single bucket `index`. */
  inBucket(key: string, index: number, bucketMs: number): number {
    return (this.hits.get(key) ?? []).filter((at) => Math.floor(at / bucketMs) === index).length;
  }
}

export type Op =
  | { op: 'record'; key: string; advanceMs: number; lateMs: number }
  | { op: 'query'; key: string; advanceMs: number; spanMs: number };

/** Operations on a few keys with time moving in steps up to `stepMs`, some hits late. */
export function ops(stepMs: number, maxSpanMs: number, length = 300): fc.Arbitrary<Op[]> {
  const key = fc.constantFrom('a', 'b', 'c', '__proto__');
  // Times on a coarse grid as often as not, so hits land exactly on window and bucket edges.
  const ms = (max: number) =>
    fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: 0, max }) },
      {
        weight: 3,
        arbitrary: fc.integer({ min: 0, max: Math.floor(max / 500) }).map((n) => n * 500),
      },
    );
  const advanceMs = fc.oneof(fc.constant(0), ms(stepMs));
  const record = fc.record({
    op: fc.constant('record' as const),
    key,
    advanceMs,
    lateMs: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: ms(maxSpanMs * 2) },
    ),
  });
  const query = fc.record({
    op: fc.constant('query' as const),
    key,
    advanceMs,
    spanMs: fc.oneof(ms(maxSpanMs), fc.constant(maxSpanMs)),
  });
  return fc.array(fc.oneof({ weight: 3, arbitrary: record }, { weight: 1, arbitrary: query }), {
    maxLength: length,
  });
}

/** A small seeded generator (xorshift32) for reproducible Morris runs. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

export interface Drive {
  counter: HitCounter;
  oracle: Oracle;
  clock: ManualClock;
}

/** Plays `list` on a fresh counter and oracle; `check` sees every query's answer. */
export function drive(
  strategy: CountingStrategy,
  list: readonly Op[],
  check: (query: { key: string; now: number; spanMs: number; got: number }, run: Drive) => void,
): Drive {
  const clock = new ManualClock(1_000_000);
  const run: Drive = {
    counter: new HitCounter({ strategy, clock: clock.now }),
    oracle: new Oracle(),
    clock,
  };
  let now = 1_000_000;
  for (const step of list) {
    now += step.advanceMs;
    clock.set(now);
    if (step.op === 'record') {
      run.counter.record(step.key, now - step.lateMs);
      run.oracle.record(step.key, now - step.lateMs);
    } else {
      const seconds = step.spanMs / 1000;
      const got = run.counter.query(step.key, seconds);
      // The counter works in milliseconds from the seconds it is given: use the same span.
      check({ key: step.key, now, spanMs: seconds * 1000, got }, run);
    }
  }
  return run;
}
