import { expect, it } from 'vitest';
import { type CountingStrategy, HitCounter, ManualClock } from '../../src/index.js';

/**
 * What every CountingStrategy must do, whatever its accuracy: run it against a new strategy
 * with `strategyContract(() => new MyStrategy(...))` inside a `describe`.
 */
export function strategyContract(make: () => CountingStrategy): void {
  const setup = (start = 1_000_000) => {
    const clock = new ManualClock(start);
    const strategy = make();
    return { clock, strategy, counter: new HitCounter({ strategy, clock: clock.now }) };
  };

  it('answers 0 for a key never seen, and counts a single fresh hit as 1', () => {
    const { counter, strategy } = setup();
    expect(counter.query('nobody', strategy.maxWindowSeconds)).toBe(0);
    counter.record('one');
    expect(counter.query('one', strategy.maxWindowSeconds)).toBe(1);
  });

  it('keeps every key apart through slot growth', () => {
    const { counter, strategy } = setup();
    for (let i = 0; i < 300; i++) counter.record(`key${i}`);
    for (let i = 0; i < 300; i++)
      expect(counter.query(`key${i}`, strategy.maxWindowSeconds)).toBe(1);
    expect(counter.metrics().keys_count).toBe(300);
  });

  it('forgets keys once their hits are past retention, and reports them pruned', () => {
    const { clock, counter, strategy } = setup();
    for (let i = 0; i < 50; i++) counter.record(`key${i}`);
    clock.advance(strategy.retentionSeconds + 1);
    for (let i = 0; i < 30; i++) counter.record('live');
    expect(counter.query('key0', strategy.maxWindowSeconds)).toBe(0);
    expect(counter.metrics().keys_count).toBe(1);
    expect(counter.metrics().pruned_events).toBe(50);
  });

  it('restores its own snapshot to the same answers', () => {
    const { clock, counter, strategy } = setup();
    for (let i = 0; i < 40; i++) {
      clock.advance(strategy.maxWindowSeconds / 20);
      counter.record(`key${i % 4}`);
    }
    const copy = new HitCounter({ strategy: make(), clock: clock.now });
    copy.restore(structuredClone(counter.snapshot()));
    for (let i = 0; i < 4; i++) {
      for (const share of [0.1, 0.5, 1]) {
        const seconds = strategy.maxWindowSeconds * share;
        expect(copy.query(`key${i}`, seconds)).toBe(counter.query(`key${i}`, seconds));
      }
    }
    expect(copy.metrics()).toEqual(counter.metrics());
  });
}
