import { InvalidTimeError } from '../errors.js';

/**
 * A clock returns epoch milliseconds, like `Date.now`. Every time-dependent part of
 * hitwarden takes one, so tests and replays (e.g. `analyze` on a log's own timestamps)
 * drive time instead of sleeping.
 */
export type Clock = () => number;

export const systemClock: Clock = Date.now;

/**
 * How far a clock may step back and still be held: a reading at most this much behind the
 * latest one is taken as the latest (time stands still until the clock catches up). A reading
 * further behind means an earlier reading was wrong and the clock has been corrected.
 */
export const CLOCK_STEP_BACK_TOLERANCE_MS = 1000;

/**
 * The one rule by which every component of hitwarden reads its clock:
 *
 * - a reading that is not a finite number, or a clock that throws, throws `InvalidTimeError`
 *   (field `clock()`, the clock's own error as `cause`), and the operation that read it
 *   changes nothing;
 * - a reading at or after the latest one is the time;
 * - a reading behind the latest by at most `CLOCK_STEP_BACK_TOLERANCE_MS` is clamped to the
 *   latest, so windows never grow back and bans never revive over NTP's small steps;
 * - a reading further behind is the clock being corrected after a wild reading (a VM resumed
 *   with a bad clock, a mis-set host, a glitch a year ahead): it is believed, and `corrections`
 *   counts it. Without this, one wild reading would freeze time until the real clock caught
 *   up with it, a year later. What each component does with state stamped "in the future" of
 *   a corrected clock is its own part of the rule (see docs/time.md).
 *
 * The latest reading lives in a typed array: a double kept in a field or a closure would be
 * boxed on every write, an allocation per call on the hot paths that read the clock.
 */
export class ClockGuard {
  /** Readings taken as a correction of the clock (see the class comment). */
  corrections = 0;
  readonly #source: Clock;
  readonly #latest = new Float64Array([Number.NEGATIVE_INFINITY]);

  constructor(source: Clock) {
    this.#source = source;
  }

  /** The clock's time under the rule above. */
  read(): number {
    let now: unknown;
    try {
      now = this.#source();
    } catch (error) {
      // A clock that throws is garbage like NaN: the caller sees the one typed error.
      throw new InvalidTimeError('clock()', undefined, 'the clock threw', { cause: error });
    }
    const latest = this.#latest[0]!;
    // `now - now === 0` holds exactly for finite numbers.
    if (typeof now !== 'number' || now - now !== 0) {
      throw new InvalidTimeError('clock()', now, 'the clock must return epoch milliseconds');
    }
    if (now >= latest) {
      this.#latest[0] = now;
      return now;
    }
    if (now >= latest - CLOCK_STEP_BACK_TOLERANCE_MS) return latest;
    this.corrections++;
    this.#latest[0] = now;
    return now;
  }

  /**
   * Carries on from a guard of an earlier process whose latest reading was `latest` (a
   * restored snapshot's): the next reading is judged against it, so a clock a little behind
   * it is held, and one far behind counts as a correction. Never moves the latest back.
   */
  resume(latest: number): void {
    if (Number.isFinite(latest) && latest > this.#latest[0]!) this.#latest[0] = latest;
  }

  /** The latest time read (`-Infinity` before the first reading), without reading the clock. */
  get latest(): number {
    return this.#latest[0]!;
  }
}

/**
 * `clock` read under the rule of {@link ClockGuard}: small steps back are held, a large one is
 * taken as a correction, and a reading that is not a finite number throws `InvalidTimeError`.
 */
export function monotonic(clock: Clock): Clock {
  const guard = new ClockGuard(clock);
  return () => guard.read();
}
