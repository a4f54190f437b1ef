/*
 * Issue 13: `now(token, metric, '0')` said "thresholds[0]: does not exist". Each wrong type
 * of each argument of the BanHammer's calls gets its own clear, bounded message and a typed
 * error, and the calls that return a promise reject it, never throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError, HitwardenError, MAX_MESSAGE_LENGTH } from '../../src/errors.js';

const threshold = { limit: 1, window: 60, action: [], action_duration: 60 };

function hammer() {
  return new BanHammer({ m: { thresholds: [threshold, threshold] } });
}

/** What `call` rejects with; fails the test if it throws instead, or resolves. */
async function rejection(call: () => Promise<unknown>): Promise<HitwardenError> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(`threw instead of rejecting: ${String(error)}`);
  }
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HitwardenError);
    return error as HitwardenError;
  }
  throw new Error('expected a rejection');
}

describe("now()'s threshold", () => {
  it('"0" is a wrong type, not a threshold that does not exist (the reproduction)', async () => {
    const error = await rejection(() => hammer().now('t', 'm', '0' as unknown as number));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('BanHammer.now.threshold');
    expect(error.message).toBe(
      'BanHammer.now.threshold: must be a threshold index, an integer from 0 to 1, got "0"',
    );
  });

  it.each([
    [1.5, 'got 1.5'],
    [Number.NaN, 'got NaN'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
    [1n, 'got a BigInt'],
    [Symbol('x'), 'got a symbol'],
    [null, 'got null'],
    [{}, 'got an object'],
  ])('%s is a wrong type too', async (value, shown) => {
    const error = await rejection(() => hammer().now('t', 'm', value as unknown as number));
    expect((error as ConfigError).path).toBe('BanHammer.now.threshold');
    expect(error.message).toContain(shown);
  });

  it.each([
    [-1, 'bans.m.thresholds[-1]'],
    [2, 'bans.m.thresholds[2]'],
    [2 ** 40, 'bans.m.thresholds[1099511627776]'],
  ])('the integer %s does not exist', async (value, path) => {
    const error = await rejection(() => hammer().now('t', 'm', value));
    expect((error as ConfigError).path).toBe(path);
    expect(error.message).toContain('does not exist: "m" has 2 threshold(s), 0 to 1');
  });
});

describe('tokens and metrics of the wrong type', () => {
  const calls = {
    incr: (h: BanHammer, token: unknown, metric: unknown) =>
      h.incr(token as string, metric as string),
    incrMany: (h: BanHammer, token: unknown, metric: unknown) =>
      h.incrMany([token as string], metric as string),
    now: (h: BanHammer, token: unknown, metric: unknown) =>
      h.now(token as string, metric as string),
    reset: (h: BanHammer, token: unknown, metric: unknown) =>
      h.reset(token as string, metric as string),
    status: (h: BanHammer, token: unknown, metric: unknown) =>
      h.status(token as string, metric as string),
  };

  it.each(Object.entries(calls))(
    '%s: a token that is not a string is an invalid key',
    async (name, call) => {
      const error = await rejection(() => call(hammer(), 5, 'm'));
      expect(error.code).toBe('HITWARDEN_INVALID_KEY');
      expect(error.message).toContain('must be a string, got 5');
      expect(error.message).toContain(`BanHammer.${name}`);
    },
  );

  it.each(Object.entries(calls))(
    '%s: a metric that is not a string says so',
    async (name, call) => {
      const error = await rejection(() => call(hammer(), 't', 5));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(`BanHammer.${name}.metric`);
      expect(error.message).toContain('must be a string naming a configured metric, got 5');
    },
  );

  it('incrMany: hostile arrays are read once, inside a guard', async () => {
    const h = hammer();
    const trap = new Proxy([], {
      get() {
        throw new Error('trap');
      },
    });
    expect((await rejection(() => h.incrMany(trap, 'm'))).code).toBe('HITWARDEN_INVALID_KEY');
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    expect((await rejection(() => h.incrMany(proxy, 'm'))).code).toBe('HITWARDEN_INVALID_KEY');
    // A getter that gives a string when checked and a number after: what was checked counts.
    let reads = 0;
    const shifty = ['a'];
    Object.defineProperty(shifty, 0, { get: () => (reads++ === 0 ? 'a' : 42) });
    expect(await h.incrMany(shifty, 'm')).toEqual([true]);
    // An array whose own iterator lies is read by index.
    const lying = ['b', 'c'];
    Object.defineProperty(lying, Symbol.iterator, {
      value: function* () {
        yield 'x';
      },
    });
    expect(await h.incrMany(lying, 'm')).toEqual([true, true]);
    expect((await h.status('b', 'm')).token_rate_1m).toBe(1);
    expect(h.counters.decisions).toBe(3);
  });

  it('on() refuses an unknown event and a listener that is not a function', () => {
    const h = hammer();
    expect(() => h.on('trippd' as 'tripped', () => {})).toThrow(ConfigError);
    expect(() => h.on('tripped', 5 as unknown as () => void)).toThrow('BanHammer.on.listener');
  });

  it('any arguments: a promise that resolves or rejects with a bounded, typed error', async () => {
    const anything = fc.oneof(
      fc.anything(),
      fc.constantFrom('m', 't', '0', Number.NaN, -0, 1n, Symbol('s'), 'm'.repeat(100_000)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.values(calls)),
        anything,
        anything,
        anything,
        async (call, token, metric, index) => {
          const h = hammer();
          let promise: Promise<unknown>;
          try {
            promise =
              call === calls.now
                ? h.now(token as string, metric as string, index as number)
                : call(h, token, metric);
          } catch (error) {
            throw new Error(`threw instead of rejecting: ${String(error)}`);
          }
          await promise.then(
            () => {
              expect(typeof token).toBe('string');
              expect(metric).toBe('m');
            },
            (error: unknown) => {
              expect(error).toBeInstanceOf(HitwardenError);
              expect((error as Error).message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
            },
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
