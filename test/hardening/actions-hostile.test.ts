/*
 * Issue 13: an action whose own properties throw (a `name` or `timeoutMs` getter, a Proxy)
 * ended the process with an uncaught exception inside `setImmediate`. An action must never
 * crash the process: what the runner needs from it is read once, at setup, inside a guard,
 * and what it returns or throws is never called into off the caller's path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError } from '../../src/errors.js';
import { trippingHammer, watchCrashes } from './actions-support.js';

/** A function whose `property` getter throws. */
function withThrowingGetter(property: string): Action {
  return Object.defineProperty(() => {}, property, {
    get() {
      throw new Error(`${property} trap`);
    },
  });
}

/** An object every one of whose traps throws: reading, testing, listing, converting it. */
function allTraps(): object {
  const trap = () => {
    throw new Error('trap');
  };
  return new Proxy(
    {},
    {
      get: trap,
      has: trap,
      ownKeys: trap,
      getPrototypeOf: trap,
      getOwnPropertyDescriptor: trap,
      defineProperty: trap,
      set: trap,
    },
  );
}

function configErrorOf(action: Action): ConfigError {
  try {
    trippingHammer([() => {}, action]);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('an action whose properties throw', () => {
  it('a timeoutMs getter that throws is a ConfigError at setup naming the action (the reproduction)', async () => {
    const error = configErrorOf(withThrowingGetter('timeoutMs'));
    expect(error.path).toBe('bans.m.thresholds[0].action[1]');
    expect(error.message).toContain('threw');
    expect((error.cause as Error).message).toBe('timeoutMs trap');
  });

  it('so does a name getter, and a Proxy whose get trap throws', () => {
    expect(configErrorOf(withThrowingGetter('name')).path).toBe('bans.m.thresholds[0].action[1]');
    const proxy = new Proxy(() => {}, {
      get() {
        throw new Error('trap');
      },
    });
    expect(configErrorOf(proxy).path).toBe('bans.m.thresholds[0].action[1]');
  });

  it('a Proxy that turns hostile after setup runs without the runner reading it again', async () => {
    let armed = false;
    let calls = 0;
    const action = new Proxy(function sleeper() {}, {
      get(target, key) {
        if (armed) throw new Error(`read ${String(key)} after setup`);
        return Reflect.get(target, key);
      },
      apply() {
        calls++;
      },
    });
    const { hammer, errors } = trippingHammer([action]);
    armed = true;
    const crashes = await watchCrashes(async () => {
      await hammer.incr('a', 'm');
      await hammer.incr('a', 'm');
      await hammer.settled();
    });
    expect(crashes).toEqual({ uncaught: [], unhandled: [] });
    expect(calls).toBe(2);
    expect(errors).toEqual([]);
  });

  it('a name that is not a string is "anonymous"; a timeoutMs that is not a timeout is refused', () => {
    const named = Object.defineProperty(() => {}, 'name', { value: 42 });
    const { hammer } = trippingHammer([named]);
    expect(hammer).toBeInstanceOf(BanHammer);
    for (const timeoutMs of [Number.NaN, '5', 0, -1, 1.5, 2 ** 31]) {
      const action = Object.assign(() => {}, { timeoutMs });
      expect(configErrorOf(action as Action).path).toBe('bans.m.thresholds[0].action[1].timeoutMs');
    }
  });

  it('an action whose own name is 1 MB long is reported under that name', async () => {
    const long = 'x'.repeat(1_000_000);
    const action = Object.defineProperty(
      () => {
        throw new Error('no');
      },
      'name',
      { value: long },
    );
    const { hammer, errors } = trippingHammer([action]);
    await hammer.incr('a', 'm');
    await hammer.settled();
    expect(errors.map((e) => e.action === long)).toEqual([true]);
  });
});

describe('what an action returns or throws', () => {
  const hostileReturns: [string, () => unknown][] = [
    [
      'a thenable whose then getter throws',
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: the point is a hostile thenable.
        get then() {
          throw new Error('then trap');
        },
      }),
    ],
    [
      'a thenable whose then throws',
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: the point is a hostile thenable.
        then: () => {
          throw new Error('then threw');
        },
      }),
    ],
    [
      'a promise with a constructor getter that throws',
      () =>
        Object.defineProperty(Promise.resolve(), 'constructor', {
          get() {
            throw new Error('constructor trap');
          },
        }),
    ],
    [
      'a promise whose own then throws',
      () =>
        Object.defineProperty(Promise.resolve(), 'then', {
          value: () => {
            throw new Error('own then threw');
          },
        }),
    ],
    ['a Proxy whose every trap throws', allTraps],
    [
      'a revoked Proxy',
      () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      },
    ],
  ];

  it.each(hostileReturns)('%s is a rejection, never a crash', async (_, make) => {
    const { hammer, errors } = trippingHammer([
      function hostile() {
        return make();
      },
    ]);
    const crashes = await watchCrashes(async () => {
      expect(await hammer.incr('a', 'm')).toBe(false);
      expect(await hammer.incr('a', 'm')).toBe(false);
      await hammer.settled();
    });
    expect(crashes).toEqual({ uncaught: [], unhandled: [] });
    expect(errors.map((e) => [e.action, e.reason])).toEqual([
      ['hostile', 'rejected'],
      ['hostile', 'rejected'],
    ]);
    expect(hammer.counters).toMatchObject({ actions_run: 2, action_errors: 2 });
  });

  const hostileThrows: [string, () => unknown][] = [
    ['a Proxy whose every trap throws', allTraps],
    ['a symbol', () => Symbol('thrown')],
    ['undefined', () => undefined],
    [
      'an error whose message getter throws',
      () =>
        Object.defineProperty(new Error(), 'message', {
          get() {
            throw new Error('message trap');
          },
        }),
    ],
  ];

  it.each(hostileThrows)('throwing %s is reported as it was, never a crash', async (_, make) => {
    const thrown = make();
    const { hammer, errors } = trippingHammer([
      () => {
        throw thrown;
      },
      async () => {
        throw thrown;
      },
    ]);
    const crashes = await watchCrashes(async () => {
      await hammer.incr('a', 'm');
      await hammer.settled();
    });
    expect(crashes).toEqual({ uncaught: [], unhandled: [] });
    expect(errors.map((e) => e.reason).sort()).toEqual(['rejected', 'threw']);
    expect(errors.every((e) => e.error === thrown)).toBe(true);
  });

  it('listeners that throw (hostile values too) are counted, never a crash', async () => {
    const { hammer } = trippingHammer([
      () => {
        throw new Error('no');
      },
    ]);
    hammer.on('tripped', () => {
      throw allTraps();
    });
    hammer.on('action_error', () => {
      throw Symbol('listener');
    });
    const crashes = await watchCrashes(async () => {
      await hammer.incr('a', 'm');
      await hammer.incr('a', 'm');
      await hammer.settled();
    });
    expect(crashes).toEqual({ uncaught: [], unhandled: [] });
    expect(hammer.counters).toMatchObject({ actions_run: 2, action_errors: 2 });
  });

  it('any mix of hostile names, returns and throws: a ConfigError at setup, or no crash', async () => {
    const property = (): unknown => {
      throw new Error('property trap');
    };
    const nameArb = fc.constantFrom<'plain' | 'number' | 'getter'>('plain', 'number', 'getter');
    const behaviourArb = fc.oneof(
      fc.constantFrom(...hostileReturns.map(([, make]) => ({ returns: make }))),
      fc.constantFrom(...hostileThrows.map(([, make]) => ({ throws: make }))),
      fc.constant({ returns: () => undefined }),
      fc.constant({ returns: () => new Promise(() => {}) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ name: nameArb, behaviour: behaviourArb }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 4 }),
        async (specs, events) => {
          const actions = specs.map(({ name, behaviour }) => {
            const action: Action = () => {
              if ('throws' in behaviour) throw behaviour.throws();
              return behaviour.returns();
            };
            if (name === 'number') Object.defineProperty(action, 'name', { value: 7 });
            if (name === 'getter') Object.defineProperty(action, 'name', { get: property });
            return action;
          });
          let made: ReturnType<typeof trippingHammer>;
          try {
            made = trippingHammer(actions, { actionTimeoutMs: 5 });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            expect(specs.some((spec) => spec.name === 'getter')).toBe(true);
            return;
          }
          const { hammer, errors } = made;
          const crashes = await watchCrashes(async () => {
            for (let i = 0; i < events; i++) expect(await hammer.incr('a', 'm')).toBe(false);
            await hammer.settled();
          });
          expect(crashes).toEqual({ uncaught: [], unhandled: [] });
          expect(hammer.counters.actions_run).toBe(events * actions.length);
          expect(errors.length).toBe(hammer.counters.action_errors);
        },
      ),
      { numRuns: 60 },
    );
  });
});
