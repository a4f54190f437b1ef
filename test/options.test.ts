import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, MAX_MESSAGE_LENGTH, MAX_TIMEOUT_MS } from '../src/index.js';
import {
  booleanOption,
  functionOption,
  integerOption,
  numberOption,
  optionsObject,
  timeoutMsOption,
} from '../src/options.js';

const hostile = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, -1),
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.constantFrom(null, true, false, 10n, Symbol('x'), {}, [], () => 1),
);

describe('option readers', () => {
  it('integerOption takes integers in range and refuses everything else with a ConfigError', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        let result: number | undefined;
        try {
          result = integerOption('Thing.count', value, 7, 1, 100);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).path).toBe('Thing.count');
          return;
        }
        expect(Number.isInteger(result)).toBe(true);
        expect(result).toBe(value);
        expect(result! >= 1 && result! <= 100).toBe(true);
      }),
    );
    expect(integerOption('Thing.count', undefined, 7, 1, 100)).toBe(7);
    expect(() => integerOption('Thing.count', '5', 7, 1)).toThrow('got "5"');
    expect(() => integerOption('Thing.count', Number.NaN, 7, 1)).toThrow('got NaN');
  });

  it('numberOption takes finite numbers in range only', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        try {
          const result = numberOption('Thing.seconds', value, 1, { above: 0, max: 10 });
          expect(typeof result).toBe('number');
          expect(result > 0 && result <= 10).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
      }),
    );
    expect(() => numberOption('Thing.seconds', 0, 1, { above: 0 })).toThrow('> 0');
  });

  it('timeoutMsOption refuses what Node timers cannot wait for', () => {
    expect(timeoutMsOption('Thing.timeoutMs', MAX_TIMEOUT_MS, 5)).toBe(MAX_TIMEOUT_MS);
    expect(() => timeoutMsOption('Thing.timeoutMs', MAX_TIMEOUT_MS + 1, 5)).toThrow(ConfigError);
    expect(() => timeoutMsOption('Thing.timeoutMs', 0, 5)).toThrow(ConfigError);
    expect(() => timeoutMsOption('Thing.timeoutMs', 1.5, 5)).toThrow(ConfigError);
  });

  it('booleanOption, functionOption and optionsObject refuse other types', () => {
    expect(() => booleanOption('Thing.flag', 1, false)).toThrow(
      'Thing.flag: must be true or false, got 1',
    );
    expect(() => functionOption('Thing.clock', 5, Date.now, 'returning epoch ms')).toThrow(
      ConfigError,
    );
    expect(() => optionsObject('Thing', null as never)).toThrow('Thing: options must be an object');
    expect(optionsObject('Thing', undefined)).toEqual({});
  });

  it('bounds every message, whatever the input', () => {
    const huge = 'x'.repeat(1_000_000);
    const error = new ConfigError(`bans.${huge}`, `${huge} is wrong`);
    expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.path.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  });
});
