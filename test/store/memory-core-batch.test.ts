import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { MemoryCore } from '../../src/store/memory/core.js';
import type { StoreMetric } from '../../src/store/store.js';
import { HAS_ACTIONS } from '../../src/store/sync-decisions.js';
import { ManualClock } from '../../src/time/manual-clock.js';

/**
 * `MemoryCore#incrMany` against its own definition: `incr` once per token, in order, on a twin
 * core fed the same events at the same times. Batches run over several prefetch blocks, with
 * repeated tokens inside a block, a table small enough to double its index and records in the
 * middle of a batch, and a cap small enough that a batch evicts pairs it has just looked up.
 */

const TOKENS = ['a', 'b', 'c', '__proto__', 'constructor', '', '10.0.0.1', '2001:db8::1', 'é'];

const thresholdArb = fc.record({
  limit: fc.integer({ min: 0, max: 6 }),
  windowSeconds: fc.integer({ min: 1, max: 120 }),
  durationSeconds: fc.integer({ min: 0, max: 200 }),
  shadow: fc.constant(false),
});

const metricsArb = fc.array(fc.array(thresholdArb, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 3,
});

const stepArb = fc.record({
  // Some steps longer than 10 minutes, so that the three rates differ.
  advanceSeconds: fc.oneof(fc.integer({ min: 0, max: 90 }), fc.integer({ min: 300, max: 1500 })),
  metric: fc.nat(),
  // Mostly a few tokens (so thresholds trip and blocks repeat them), sometimes many fresh ones
  // (so tables grow and the hand frees and evicts inside a batch).
  tokens: fc.oneof(
    fc.array(fc.constantFrom(...TOKENS), { maxLength: 150 }),
    fc
      .integer({ min: 0, max: 300 })
      .map((n) => Array.from({ length: n }, (_, i) => `fresh-${i}-${n}`)),
  ),
});

function twin(metrics: StoreMetric[], clock: ManualClock, maxTokens: number): MemoryCore {
  return new MemoryCore(metrics, clock.now, { maxTokens, initialCapacity: 16 });
}

describe('MemoryCore#incrMany', () => {
  it('decides every token exactly as incr would, one after another', () => {
    fc.assert(
      fc.property(
        metricsArb,
        fc.array(stepArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(20, 100, 1_000_000),
        (thresholdLists, steps, maxTokens) => {
          const metrics = thresholdLists.map((thresholds, i) => ({ name: `m${i}`, thresholds }));
          const clock = new ManualClock(1_700_000_000_000);
          const batched = twin(metrics, clock, maxTokens);
          const single = twin(metrics, clock, maxTokens);
          for (const step of steps) {
            clock.advance(step.advanceSeconds);
            const metric = step.metric % metrics.length;
            const expectedFlags: number[] = [];
            const expectedStates: number[][] = [];
            const expectedRates: number[] = [];
            const thresholds = single.thresholdCount(metric);
            for (const token of step.tokens) {
              const flags = single.incr(token, metric);
              expectedFlags.push(flags);
              single.readLastRates();
              expectedRates.push(...single.rates);
              expectedStates.push(
                (flags & HAS_ACTIONS) === 0
                  ? []
                  : [...single.thresholdState.subarray(0, thresholds)],
              );
            }
            const out = new Uint8Array(step.tokens.length + 3).fill(0xff);
            const states: number[][] = step.tokens.map(() => []);
            const rates = new Float64Array(3 * step.tokens.length);
            batched.incrMany(
              step.tokens,
              metric,
              out,
              (i) => {
                states[i] = [...batched.thresholdState.subarray(0, thresholds)];
              },
              rates,
            );
            expect([...rates]).toEqual(expectedRates);
            expect([...out.subarray(0, step.tokens.length)]).toEqual(expectedFlags);
            // Past the batch, `out` is left alone.
            expect([...out.subarray(step.tokens.length)]).toEqual([0xff, 0xff, 0xff]);
            expect(states).toEqual(expectedStates);
            if (step.tokens.length > 0) {
              batched.readLastRates();
              single.readLastRates();
              expect([...batched.rates]).toEqual([...single.rates]);
            }
            expect(batched.size).toBe(single.size);
            expect(batched.evictions).toBe(single.evictions);
            expect(batched.expirations).toBe(single.expirations);
          }
          for (const token of TOKENS) {
            for (let metric = 0; metric < metrics.length; metric++) {
              expect(batched.readRates(token, metric)).toBe(single.readRates(token, metric));
              expect([...batched.rates]).toEqual([...single.rates]);
              expect(batched.bansOf(token, metric)).toEqual(single.bansOf(token, metric));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses out or rates arrays shorter than the batch needs, before counting anything', () => {
    const clock = new ManualClock(1_000);
    const core = twin(
      [
        {
          name: 'm',
          thresholds: [{ limit: 1, windowSeconds: 60, durationSeconds: 60, shadow: false }],
        },
      ],
      clock,
      100,
    );
    expect(() => core.incrMany(['a', 'b'], 0, new Uint8Array(1))).toThrow(ConfigError);
    expect(() =>
      core.incrMany(['a', 'b'], 0, new Uint8Array(2), undefined, new Float64Array(5)),
    ).toThrow(ConfigError);
    expect(core.size).toBe(0);
  });

  it('keeps deciding its own batch when an action callback starts another batch', () => {
    const clock = new ManualClock(1_000);
    const metrics = [
      {
        name: 'm',
        thresholds: [{ limit: 0, windowSeconds: 60, durationSeconds: 60, shadow: false }],
      },
    ];
    const core = twin(metrics, clock, 1000);
    const tokens = Array.from({ length: 150 }, (_, i) => `t${i % 75}`);
    const out = new Uint8Array(tokens.length);
    const inner = new Uint8Array(70);
    const seen: number[] = [];
    core.incrMany(tokens, 0, out, (i) => {
      seen.push(i);
      // Fresh tokens of its own: a different block of hashes than the outer batch's.
      if (i === 0)
        core.incrMany(
          Array.from({ length: 70 }, (_, k) => `inner${k}`),
          0,
          inner,
        );
    });
    // Limit 0: every event trips or is blocked, and the outer batch saw every one of its own.
    expect(seen).toEqual(tokens.map((_, i) => i));
    expect(core.size).toBe(75 + 70);
    for (let i = 0; i < 75; i++) {
      expect(core.readRates(`t${i}`, 0)).toBe(true);
      expect(core.rates[0]).toBe(2);
    }
  });
});
