import { describe, expect, it } from 'vitest';
import {
  BanHammer,
  ConfigError,
  MemoryStore,
  type Store,
  type StoreSetup,
  type SyncDecisions,
} from '../../src/index.js';
import { storeConformance } from './conformance.js';

/**
 * A store of the user's own that offers the synchronous capability by wrapping another one's:
 * what the BanHammer must use through `Store#openSync` alone, without knowing the class.
 */
class CountingSyncStore implements Store {
  readonly inner = new MemoryStore();
  syncCalls = 0;
  asyncCalls = 0;
  open: Store['open'] = (setup) => this.inner.open(setup);
  openSync(setup: StoreSetup): SyncDecisions {
    const decisions = this.inner.openSync(setup);
    return {
      thresholdState: decisions.thresholdState,
      rates: decisions.rates,
      incr: (token, metric) => {
        this.syncCalls++;
        return decisions.incr(token, metric);
      },
      incrMany: (tokens, metric, out, onActions, rates) => {
        this.syncCalls += tokens.length;
        decisions.incrMany(tokens, metric, out, onActions, rates);
      },
      readLastRates: () => decisions.readLastRates(),
      readRates: (token, metric) => decisions.readRates(token, metric),
    };
  }
  incr: Store['incr'] = (token, metric) => {
    this.asyncCalls++;
    return this.inner.incr(token, metric);
  };
  ban: Store['ban'] = (token, metric, threshold) => this.inner.ban(token, metric, threshold);
  reset: Store['reset'] = (token, metric) => this.inner.reset(token, metric);
  banMs: Store['banMs'] = (token) => this.inner.banMs(token);
  status: Store['status'] = (token, metric) => this.inner.status(token, metric);
  scan: Store['scan'] = () => this.inner.scan();
  close: Store['close'] = () => this.inner.close();
}

storeConformance('a store of its own offering openSync', { make: () => new CountingSyncStore() });

const bans = { m: { thresholds: [{ limit: 2, window: 60, action: [], action_duration: 600 }] } };

describe('Store#openSync', () => {
  it('is what the BanHammer decides through when a store offers it, whatever its class', async () => {
    const store = new CountingSyncStore();
    const hammer = new BanHammer(bans, { store });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await hammer.incr('t', 'm'));
    answers.push(...(await hammer.incrMany(['u', 'u', 'u'], 'm')));
    expect(answers).toEqual([true, true, false, false, true, true, false]);
    expect(store.syncCalls).toBe(7);
    expect(store.asyncCalls).toBe(0);
    expect(hammer.counters.tripped).toBe(2);
  });

  it('is refused at setup when it is not a method, or reading it throws', () => {
    const make = (openSync: PropertyDescriptor) => {
      const store = new CountingSyncStore();
      Object.defineProperty(store, 'openSync', openSync);
      return () => new BanHammer(bans, { store });
    };
    expect(make({ value: 42 })).toThrow(ConfigError);
    expect(
      make({
        get() {
          throw new Error('hostile getter');
        },
      }),
    ).toThrow(/BanHammer\.store.*openSync/);
    // Absent is fine: the BanHammer goes through the promises.
    const plain = new CountingSyncStore();
    Object.defineProperty(plain, 'openSync', { value: undefined });
    const hammer = new BanHammer(bans, { store: plain });
    return hammer.incr('t', 'm').then((passed) => {
      expect(passed).toBe(true);
      expect(plain.asyncCalls).toBe(1);
    });
  });
});

describe('MemoryStore#sweep', () => {
  it('refuses a step count that is not a non-negative integer', () => {
    const store = new MemoryStore();
    new BanHammer(bans, { store });
    for (const steps of [-1, 1.5, Number.NaN, '3']) {
      expect(() => store.sweep(steps as number)).toThrow(ConfigError);
    }
    expect(store.sweep(10)).toBe(0);
  });
});
