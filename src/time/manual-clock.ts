import { InvalidTimeError } from '../errors.js';
import type { Clock } from './clock.js';

/**
 * A clock that moves only when told to: the fake clock for tests and replays.
 *
 * ```ts
 * const time = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * const tracker = new IpTracker({ clock: time.now });
 * time.advance(86_400); // one day later, in seconds
 * ```
 */
export class ManualClock {
  #now: number;

  /** @param start epoch milliseconds */
  constructor(start = 0) {
    this.#now = finiteTime('ManualClock start', start);
  }

  /** The clock function to hand to hitwarden components (already bound). */
  readonly now: Clock = () => this.#now;

  /** Moves time forward (or back, for clamping tests) by `seconds`. */
  advance(seconds: number): void {
    this.#now = finiteTime(
      'advance(seconds)',
      this.#now + finiteTime('advance(seconds)', seconds) * 1000,
    );
  }

  /** Jumps to an absolute time in epoch milliseconds. */
  set(epochMs: number): void {
    this.#now = finiteTime('set(epochMs)', epochMs);
  }
}

/** A fake clock must never hand out what a real one cannot: NaN, ±Infinity, a non-number. */
function finiteTime(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidTimeError(field, value, 'must be a finite number');
  }
  return value;
}
