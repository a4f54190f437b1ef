import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BanHammer,
  ClockGuard,
  FixedWindow,
  FleetSync,
  type FleetTopStore,
  HitCounter,
  HitwardenError,
  IpTracker,
  LocalBlockCache,
  ManualClock,
  MemoryStore,
  Morris,
  monotonic,
  RedisFleetTopStore,
  RedisStore,
  recordLocal,
  reportCentral,
  SlidingLog,
  SlidingWindowCounter,
} from '../../src/index.js';
import { hostile } from './counter-hostile.js';

/*
 * Every public constructor and factory, given hostile option values: each call either throws
 * a hitwarden error (a HitwardenError with a code) or returns an object that works, used at
 * once; never a raw TypeError or RangeError, never a hang, never a crash later. Values include
 * getters that throw and Proxies, for single options and for the options object itself.
 */

const T = Date.UTC(2026, 0, 1);
const bans = { m: { thresholds: [{ limit: 2, window: 60, action: [], action_duration: 60 }] } };
// Never connects: no command is sent in these tests.
const lazyClient = new Redis({ lazyConnect: true, port: 1, maxRetriesPerRequest: 0 });
afterAll(() => lazyClient.disconnect());

const fakeFleetStore: FleetTopStore = {
  add: async () => {},
  top: async () => [],
  close: async () => {},
} as unknown as FleetTopStore;

interface Subject {
  /** Valid options the hostile one is added to. */
  base: Record<string, unknown>;
  options: string[];
  make: (options: unknown) => unknown;
  /** Uses what `make` returned, as a caller would right away. */
  use: (made: never) => unknown;
}

const strategyUse = (strategy: never) => {
  const counter = new HitCounter({ strategy, clock: () => T });
  counter.record('k');
  return counter.query('k', 1);
};

const subjects: Record<string, Subject> = {
  IpTracker: {
    base: {},
    options: ['periodSeconds', 'offsetSeconds', 'topN', 'expectedAddresses', 'clock', 'rollover'],
    make: (options) => new IpTracker(options as never),
    use: (tracker: IpTracker) => {
      tracker.requestHandled('192.0.2.1');
      expect(tracker.count('192.0.2.1')).toBe(1);
      return tracker.top(0);
    },
  },
  HitCounter: {
    base: {},
    options: ['strategy', 'clock', 'futureToleranceSeconds', 'expectedKeys', 'maxKeys', 'whenFull'],
    make: (options) => new HitCounter(options as never),
    use: (counter: HitCounter) => {
      counter.record('k');
      return counter.query('k', 1);
    },
  },
  FixedWindow: {
    base: { windowSeconds: 1 },
    options: ['windowSeconds', 'maxWindowSeconds'],
    make: (options) => new FixedWindow(options as never),
    use: strategyUse,
  },
  SlidingWindowCounter: {
    base: { windowSeconds: 1 },
    options: ['windowSeconds', 'maxWindowSeconds'],
    make: (options) => new SlidingWindowCounter(options as never),
    use: strategyUse,
  },
  SlidingLog: {
    base: { maxWindowSeconds: 60 },
    options: ['maxWindowSeconds'],
    make: (options) => new SlidingLog(options as never),
    use: strategyUse,
  },
  Morris: {
    base: {},
    options: ['base', 'windowSeconds', 'maxWindowSeconds', 'random'],
    make: (options) => new Morris(options as never),
    use: strategyUse,
  },
  BanHammer: {
    base: {},
    options: [
      'returnRates',
      'store',
      'clock',
      'allowList',
      'denyList',
      'actionTimeoutMs',
      'maxPendingActions',
    ],
    make: (options) => new BanHammer(bans, options as never),
    use: async (hammer: BanHammer) => {
      await hammer.incr('t', 'm');
      await hammer.statusAll();
      await hammer.close();
    },
  },
  MemoryStore: {
    base: {},
    options: ['maxTokens', 'initialCapacity', 'scanBatch', 'whenFull'],
    make: (options) => new MemoryStore(options as never),
    use: async (store: MemoryStore) => {
      const hammer = new BanHammer(bans, { store, clock: () => T });
      await hammer.incr('t', 'm');
      await hammer.statusAll();
    },
  },
  LocalBlockCache: {
    base: {},
    options: ['clock', 'maxEntries'],
    make: (options) => new LocalBlockCache(options as never),
    use: (cache: LocalBlockCache) => {
      cache.block('t', 60);
      return [cache.isBlocked('t'), cache.retryAfter('t')];
    },
  },
  recordLocal: {
    base: { path: '/nonexistent-hitwarden-dir/journal.jsonl' },
    options: ['path', 'clock'],
    make: (options) => recordLocal(options as never),
    use: (action: unknown) => expect(typeof action).toBe('function'),
  },
  reportCentral: {
    base: { url: 'http://127.0.0.1:1/' },
    options: ['url', 'timeoutMs', 'retries', 'backoffMs', 'headers', 'clock'],
    make: (options) => reportCentral(options as never),
    use: (action: unknown) => expect(typeof action).toBe('function'),
  },
  RedisStore: {
    base: { client: lazyClient },
    options: [
      'client',
      'url',
      'prefix',
      'onFailure',
      'timeoutMs',
      'maxBatch',
      'scanCount',
      'clock',
    ],
    make: (options) => new RedisStore(options as never),
    use: () => {},
  },
  RedisFleetTopStore: {
    base: { client: lazyClient },
    options: ['client', 'url', 'prefix', 'shards', 'chunkSize', 'retryWindowSeconds', 'timeoutMs'],
    make: (options) => new RedisFleetTopStore(options as never),
    use: () => {},
  },
  FleetSync: {
    base: { store: fakeFleetStore },
    options: [
      'store',
      'intervalSeconds',
      'periodSeconds',
      'offsetSeconds',
      'clock',
      'timeoutMs',
      'maxPendingBatches',
      'onError',
    ],
    make: (options) => new FleetSync(new IpTracker(), options as never),
    use: async (sync: FleetSync) => {
      await sync.close();
    },
  },
  ManualClock: {
    base: {},
    options: [],
    make: (start) => new ManualClock(start as never),
    use: (clock: ManualClock) => clock.advance(1),
  },
  ClockGuard: {
    base: {},
    options: [],
    make: (source) => new ClockGuard(source as never),
    use: (guard: ClockGuard) => guard.read(),
  },
  monotonic: {
    base: {},
    options: [],
    make: (source) => monotonic(source as never),
    use: (clock: () => number) => clock(),
  },
};

/** A hostile value, or a getter that throws, or a Proxy whose traps throw. */
const throwingProxy = new Proxy(
  {},
  {
    get() {
      throw new Error('proxy get');
    },
    has() {
      throw new Error('proxy has');
    },
    ownKeys() {
      throw new Error('proxy ownKeys');
    },
    getPrototypeOf() {
      throw new Error('proxy getPrototypeOf');
    },
  },
);
const value = fc.oneof(
  { weight: 8, arbitrary: hostile.map((v) => ({ kind: 'value' as const, v })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'getter' as const, v: undefined }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'proxy' as const, v: undefined }) },
);

/** What a generated value stands for, never calling into it. */
function shown(given: { kind: string; v: unknown }): string {
  if (given.kind !== 'value') return given.kind;
  try {
    return typeof given.v === 'symbol' ? 'a symbol' : (JSON.stringify(given.v) ?? String(given.v));
  } catch {
    return typeof given.v;
  }
}

/** Settles `run` (sync or async) to the error it threw, or `undefined`. */
async function outcome(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function typed(error: unknown): boolean {
  return error instanceof HitwardenError && typeof error.code === 'string';
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

describe.each(Object.keys(subjects))('%s with hostile options', (name) => {
  const subject = subjects[name]!;

  it('throws a hitwarden error or works, for each option', async () => {
    if (subject.options.length === 0) return;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...subject.options), value, async (option, given) => {
        const options: Record<string, unknown> = { ...subject.base };
        if (given.kind === 'getter') {
          Object.defineProperty(options, option, {
            enumerable: true,
            get() {
              throw new Error('getter');
            },
          });
        } else options[option] = given.kind === 'proxy' ? throwingProxy : given.v;
        const error = await outcome(async () => subject.use(subject.make(options) as never));
        if (error !== undefined && !typed(error)) {
          throw new Error(`${name}.${option} = ${shown(given)}: ${describeError(error)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('throws a hitwarden error or works, for the options argument itself', async () => {
    await fc.assert(
      fc.asyncProperty(value, async (given) => {
        const argument =
          given.kind === 'getter'
            ? Object.defineProperty({}, 'x', {
                get() {
                  throw new Error('getter');
                },
              })
            : given.kind === 'proxy'
              ? throwingProxy
              : given.v;
        const error = await outcome(async () => subject.use(subject.make(argument) as never));
        if (error !== undefined && !typed(error)) {
          throw new Error(`${name}(${shown(given)}): ${describeError(error)}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
