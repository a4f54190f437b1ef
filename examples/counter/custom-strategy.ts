// Writing your own CountingStrategy: a "tumbling window" that only knows the current
// epoch-aligned period — one counter and one period number per key.
// Run: npx tsx examples/counter/custom-strategy.ts
import {
  type CountingStrategy,
  HitCounter,
  ManualClock,
  type StrategyState,
} from '../../src/index.js';
import { isMain } from './is-main.js';

/** Hits in the current period; a query of any span up to the period answers that count. */
export class TumblingWindow implements CountingStrategy {
  readonly kind = 'example.tumbling-window';
  readonly params: Readonly<{ periodSeconds: number }>;
  readonly maxWindowSeconds: number;
  readonly retentionSeconds: number;

  constructor(periodSeconds: number) {
    this.params = { periodSeconds };
    this.maxWindowSeconds = periodSeconds;
    this.retentionSeconds = periodSeconds;
  }

  create(): StrategyState {
    return new TumblingState(this.params.periodSeconds * 1000);
  }
}

class TumblingState implements StrategyState {
  readonly #periodMs: number;
  #period = new Float64Array(0);
  #count = new Float64Array(0);
  #live = 0;

  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  get entries(): number {
    return this.#live;
  }

  resize(capacity: number): void {
    const period = new Float64Array(capacity);
    period.set(this.#period);
    this.#period = period;
    const count = new Float64Array(capacity);
    count.set(this.#count);
    this.#count = count;
  }

  record(slot: number, at: number): number {
    const period = Math.floor(at / this.#periodMs);
    const held = this.#count[slot]!;
    if (held === 0) this.#live++;
    if (held === 0 || period > this.#period[slot]!) {
      this.#period[slot] = period;
      this.#count[slot] = 1;
      return held; // the previous period's hits are gone
    }
    if (period < this.#period[slot]!) return 1; // a late hit from a finished period
    this.#count[slot] = held + 1;
    return 0;
  }

  query(slot: number, now: number): number {
    return this.#period[slot] === Math.floor(now / this.#periodMs) ? this.#count[slot]! : 0;
  }

  clear(slot: number): number {
    const held = this.#count[slot]!;
    if (held !== 0) this.#live--;
    this.#count[slot] = 0;
    return held;
  }

  save(slot: number): number[] {
    return this.#count[slot] === 0 ? [] : [this.#period[slot]!, this.#count[slot]!];
  }

  load(slot: number, data: readonly number[]): void {
    if (data.length === 0) return;
    const [period, count] = data;
    if (data.length !== 2 || !Number.isInteger(period) || !(count! >= 1)) {
      throw new Error('expected [period, count ≥ 1]');
    }
    this.#period[slot] = period!;
    this.#count[slot] = count!;
    this.#live++;
  }
}

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(60_000);
  const hits = new HitCounter({ strategy: new TumblingWindow(60), clock: clock.now });
  for (let i = 0; i < 5; i++) hits.record('/custom');
  clock.advance(30);
  hits.record('/custom');
  print(`t = 90 s: ${hits.query('/custom', 60)} hits this minute`);
  clock.advance(30);
  print(`t = 120 s: ${hits.query('/custom', 60)} hits this minute`);
}

if (isMain(import.meta.url)) run(console.log);
