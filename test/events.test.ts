import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BanHammer } from '../src/banhammer/ban-hammer.js';
import { HitCounter } from '../src/counter/hit-counter.js';
import { StoreError } from '../src/errors.js';
import { Emitter, LISTENER_ERROR_WARNING } from '../src/events.js';
import { RedisStore } from '../src/store/redis/redis-store.js';

/*
 * One event mechanism (src/events.ts), one rule for a listener that throws: the throw never
 * reaches the engine's caller; it is counted (`listenerErrors`) and reported once per
 * listener as a process warning.
 */
let warnings: Error[] = [];
const onWarning = (warning: Error) => {
  if ((warning as Error & { code?: string }).code === LISTENER_ERROR_WARNING)
    warnings.push(warning);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
/** Warnings are emitted on a later tick. */
const warned = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  return warnings;
};

describe('Emitter', () => {
  it('catches a throwing listener, counts every throw, warns once per listener, runs the rest', async () => {
    const events = new Emitter<{ ping: number }>('Test');
    const seen: number[] = [];
    const thrown = new Error('listener bug');
    const bad = () => {
      throw thrown;
    };
    events.on('ping', bad);
    events.on('ping', (n) => seen.push(n));
    for (let n = 0; n < 3; n++) expect(() => events.emit('ping', n)).not.toThrow();
    expect(seen).toEqual([0, 1, 2]);
    expect(events.listenerErrors).toBe(3);
    const reported = await warned();
    expect(reported).toHaveLength(1);
    expect(reported[0]!.cause).toBe(thrown);
    expect(reported[0]!.message).toMatch(/a Test 'ping' listener threw/);
  });

  it('a listener removed during an emit still hears that emit; one added does not', () => {
    const events = new Emitter<{ ping: number }>('Test');
    const heard: string[] = [];
    const late = () => heard.push('late');
    const second = () => heard.push('second');
    events.on('ping', () => {
      heard.push('first');
      events.off('ping', second);
      events.on('ping', late);
    });
    events.on('ping', second);
    events.emit('ping', 1);
    expect(heard).toEqual(['first', 'second']);
    expect(events.has('ping')).toBe(true);
  });
});

describe('the engines follow the rule', () => {
  it('HitCounter.record: a throwing hit_recorded listener does not reach the caller', async () => {
    const counter = new HitCounter();
    counter.on('hit_recorded', () => {
      throw new Error('listener bug');
    });
    expect(() => counter.record('k')).not.toThrow();
    expect(() => counter.record('k')).not.toThrow();
    expect(counter.metrics().total_hits).toBe(2);
    expect(counter.listenerErrors).toBe(2);
    expect(await warned()).toHaveLength(1);
  });

  it('BanHammer: a throwing tripped listener is counted', async () => {
    const hammer = new BanHammer({
      m: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] },
    });
    hammer.on('tripped', () => {
      throw Symbol('not even an Error');
    });
    await hammer.incr('a', 'm');
    expect(await hammer.incr('a', 'm')).toBe(false);
    await hammer.settled();
    expect(hammer.listenerErrors).toBe(1);
    expect(await warned()).toHaveLength(1);
    await hammer.close();
  });

  it('RedisStore: a throwing store_error listener leaves the StoreError to the caller', async () => {
    // Nothing listens on port 1: every call fails at once.
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', onFailure: 'failClosed' });
    store.on('store_error', () => {
      throw new Error('listener bug');
    });
    const hammer = new BanHammer(
      { m: { thresholds: [{ limit: 5, window: 60, action: [], action_duration: 60 }] } },
      { store },
    );
    expect(await hammer.incr('a', 'm')).toBe(false);
    await expect(hammer.status('a', 'm')).rejects.toBeInstanceOf(StoreError);
    expect(store.listenerErrors).toBe(2);
    expect(await warned()).toHaveLength(1);
    await hammer.close();
  });
});
