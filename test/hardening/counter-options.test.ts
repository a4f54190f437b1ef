import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FixedWindow,
  HitCounter,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
} from '../../src/index.js';
import { hostile, thrown } from './counter-hostile.js';

/*
 * Every option of the counter and its strategies is read by the shared readers: a value of the
 * wrong type or out of range is a ConfigError whose path is `Component.option`, nothing is
 * coerced, and every value accepted is one the oracle below calls valid.
 */

const MAX_SPAN = 366 * 86_400;
const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);
const span = (value: unknown) => isNumber(value) && value >= 0.001 && value <= MAX_SPAN;

interface OptionSpec {
  /** Whether the value alone is acceptable for this option. */
  valid: (value: unknown) => boolean;
}

interface ComponentSpec {
  make: (options: unknown) => unknown;
  /** Valid options the tested one is added to. */
  base: Record<string, unknown>;
  options: Record<string, OptionSpec>;
  /** Whether the whole object is acceptable beyond each value alone (the bucket count). */
  whole?: (options: Record<string, unknown>) => string | undefined;
}

const bucketRule =
  (window: number, windows: number) =>
  (options: Record<string, unknown>): string | undefined => {
    const windowSeconds = (options.windowSeconds as number | undefined) ?? window;
    const max =
      (options.maxWindowSeconds as number | undefined) ??
      Math.min(windows * windowSeconds, MAX_SPAN);
    return Math.ceil(max / windowSeconds) + 1 > 2 ** 16 ? 'maxWindowSeconds' : undefined;
  };

const components: Record<string, ComponentSpec> = {
  HitCounter: {
    make: (options) => new HitCounter(options as never),
    base: {},
    options: {
      strategy: { valid: (value) => value === undefined },
      clock: { valid: (value) => value === undefined || typeof value === 'function' },
      maxKeys: {
        valid: (value) =>
          value === undefined ||
          (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 2 ** 23),
      },
      expectedKeys: {
        valid: (value) =>
          value === undefined ||
          (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 100_000),
      },
      whenFull: {
        valid: (value) => value === undefined || value === 'evict' || value === 'refuse',
      },
      futureToleranceSeconds: {
        valid: (value) => value === undefined || (isNumber(value) && value >= 0 && value <= 86_400),
      },
    },
  },
  FixedWindow: {
    make: (options) => new FixedWindow(options as never),
    base: { windowSeconds: 10 },
    options: {
      windowSeconds: { valid: span },
      maxWindowSeconds: { valid: (value) => value === undefined || span(value) },
    },
    whole: bucketRule(10, 60),
  },
  SlidingWindowCounter: {
    make: (options) => new SlidingWindowCounter(options as never),
    base: { windowSeconds: 10 },
    options: {
      windowSeconds: { valid: span },
      maxWindowSeconds: { valid: (value) => value === undefined || span(value) },
    },
    whole: bucketRule(10, 1),
  },
  Morris: {
    make: (options) => new Morris(options as never),
    base: {},
    options: {
      base: {
        valid: (value) => value === undefined || (isNumber(value) && value > 1 && value <= 1_000),
      },
      windowSeconds: { valid: (value) => value === undefined || span(value) },
      maxWindowSeconds: { valid: (value) => value === undefined || span(value) },
      random: { valid: (value) => value === undefined || typeof value === 'function' },
    },
    whole: bucketRule(60, 60),
  },
  SlidingLog: {
    make: (options) => new SlidingLog(options as never),
    base: { maxWindowSeconds: 60 },
    options: { maxWindowSeconds: { valid: span } },
  },
};

describe.each(Object.entries(components))('%s options', (component, spec) => {
  it.each(Object.entries(spec.options))(
    '%s: a ConfigError naming Component.option for every value it refuses',
    (name, option) => {
      fc.assert(
        fc.property(fc.oneof(hostile, fc.constant(undefined)), (value) => {
          const options = { ...spec.base, [name]: value };
          if (value === undefined) delete options[name];
          const error = thrown(() => spec.make(options));
          if (!option.valid(value)) {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).path).toBe(`${component}.${name}`);
            return;
          }
          const rule = spec.whole?.(options);
          if (rule === undefined) {
            expect(error).toBeUndefined();
          } else {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).path).toBe(`${component}.${rule}`);
          }
        }),
        { numRuns: 300 },
      );
    },
  );

  it('refuses an options value that is not an object, naming the component', () => {
    for (const value of [null, 5, 'x', 10n, Symbol('s'), [], true, () => ({})]) {
      const error = thrown(() => spec.make(value));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(component);
    }
  });
});

describe('required options and the reported values', () => {
  it('names a required span that was left out', () => {
    expect(() => new FixedWindow(undefined as never)).toThrow(
      /FixedWindow\.windowSeconds: is required/,
    );
    expect(() => new SlidingLog({} as never)).toThrow(/SlidingLog\.maxWindowSeconds: is required/);
  });

  it('quotes what it refused as written, without coercing it', () => {
    expect(() => new FixedWindow({ windowSeconds: '5' as never })).toThrow('got "5"');
    expect(() => new Morris({ base: Number.NaN })).toThrow(
      'Morris.base: must be a finite number > 1 and ≤ 1000, got NaN',
    );
    expect(() => new HitCounter({ expectedKeys: 2 ** 40 })).toThrow(/HitCounter\.expectedKeys/);
  });

  it('keeps a default reach within the longest span', () => {
    const strategy = new FixedWindow({ windowSeconds: 86_400 * 30 });
    expect(strategy.maxWindowSeconds).toBe(MAX_SPAN);
  });
});
