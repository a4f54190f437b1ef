import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BanHammer, ConfigError, ManualClock, MemoryStore } from '../../src/index.js';
import { hostile, thrown } from './counter-hostile.js';

/*
 * Every option of the memory store is read by the shared readers (src/options.ts): a value of
 * the wrong type or out of range is a ConfigError whose path is `MemoryStore.<option>`, at
 * construction; a value accepted gives a store that works, whose scan ends.
 */

const bans = { m: { thresholds: [{ limit: 3, window: 60, action: [], action_duration: 600 }] } };
const MAX_TOKENS = 2 ** 26;
const isInteger = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

const rules: Record<string, (value: unknown) => boolean> = {
  maxTokens: (value) => value === Number.POSITIVE_INFINITY || isInteger(value, 1, MAX_TOKENS),
  initialCapacity: (value) => isInteger(value, 0, MAX_TOKENS),
  scanBatch: (value) => isInteger(value, 1),
  whenFull: (value) => value === 'untracked' || value === 'refuse',
};

/** A store with `options` serves a BanHammer through incr, status and a scan that ends. */
async function works(options: Record<string, unknown>): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const hammer = new BanHammer(bans, { store: new MemoryStore(options), clock: clock.now });
  for (let i = 0; i < 5; i++) expect(await hammer.incr(`t${i % 3}`, 'm')).toBe(true);
  const tracked = Object.keys(await hammer.statusAll()).sort();
  // All three, or fewer under a cap below three.
  const cap = (options.maxTokens as number | undefined) ?? 3;
  for (const token of tracked) expect(['t0', 't1', 't2']).toContain(token);
  expect(tracked.length).toBe(Math.min(cap, 3));
  await hammer.close();
}

describe('MemoryStore options', () => {
  it.each([0, Number.NaN, -1, 0.5, Number.POSITIVE_INFINITY, '10', null])(
    'refuses scanBatch %s at construction, so statusAll cannot loop for ever (the issue)',
    (scanBatch) => {
      const error = thrown(() => new MemoryStore({ scanBatch } as never));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe('MemoryStore.scanBatch');
    },
  );

  it.each([Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, '16', {}])(
    'refuses initialCapacity %s instead of a TypeError on the first incr (the issue)',
    (initialCapacity) => {
      const error = thrown(() => new MemoryStore({ initialCapacity } as never));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe('MemoryStore.initialCapacity');
    },
  );

  it.each([0, -1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, 2 ** 27, '5'])(
    'refuses maxTokens %s with a ConfigError, not a StoreError',
    (maxTokens) => {
      const error = thrown(() => new MemoryStore({ maxTokens } as never));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe('MemoryStore.maxTokens');
    },
  );

  it.each(['evict', 'Refuse', '', 1, null])('refuses whenFull %s', (whenFull) => {
    const error = thrown(() => new MemoryStore({ whenFull } as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('MemoryStore.whenFull');
  });

  it('refuses an options object that is not an object, and a getter that throws', () => {
    expect(() => new MemoryStore(5 as never)).toThrow(ConfigError);
    const getter = {
      get scanBatch(): number {
        throw new Error('boom');
      },
    };
    const error = thrown(() => new MemoryStore(getter));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('MemoryStore.scanBatch');
  });

  it('takes the smallest and largest sensible values', async () => {
    await works({ scanBatch: 1, initialCapacity: 0, maxTokens: 3 });
    await works({ maxTokens: Number.POSITIVE_INFINITY, initialCapacity: 1 });
    await works({ initialCapacity: 100, maxTokens: 16 });
  });

  it('gives a ConfigError naming the option, or a store that works, for any value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(rules)), hostile, async (name, value) => {
        const error = thrown(() => new MemoryStore({ [name]: value }));
        if (rules[name]!(value)) {
          expect(error).toBeUndefined();
          // Huge initial capacities are valid but allocate: check the working store at a
          // modest one.
          if (name !== 'initialCapacity' || (value as number) <= 1 << 16) {
            await works({ [name]: value });
          }
        } else {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).path).toBe(`MemoryStore.${name}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
