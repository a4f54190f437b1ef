import { InvalidTimeError } from '../errors.js';

/**
 * What a threshold runs when it trips, and again on each event refused while its ban holds:
 * `action(token, duration, metric, window, limit)` with `duration` and `window` in seconds.
 *
 * It may be async. It runs after the decision has been returned to the caller, under a
 * timeout; a throw, a rejection or a timeout becomes an `action_error` event and a counter,
 * never an error of `incr`.
 */
export type Action = ((
  token: string,
  duration: number,
  metric: string,
  window: number,
  limit: number,
) => unknown) & {
  /**
   * How long this action may take before it counts as failed, in milliseconds; overrides the
   * BanHammer's `actionTimeoutMs` (e.g. `reportCentral` sets it from its own timeout and
   * retries).
   */
  timeoutMs?: number;
};

/** What `recordLocal` writes and `reportCentral` sends for one action call. */
export interface ActionRecord {
  /** ISO 8601 time the action ran. */
  at: string;
  token: string;
  metric: string;
  /** Seconds. */
  window: number;
  limit: number;
  /** Seconds of the ban. */
  duration: number;
}

/** Largest distance from the epoch a `Date` can hold, in ms (about 275,000 years). */
const MAX_DATE_MS = 8.64e15;

/** Builds the record of one action call at `at` (epoch ms). Throws `InvalidTimeError` for an
 *  `at` no date can hold (where `toISOString` would throw a raw `RangeError`). */
export function actionRecord(
  at: number,
  token: string,
  duration: number,
  metric: string,
  window: number,
  limit: number,
): ActionRecord {
  if (typeof at !== 'number' || !(Math.abs(at) <= MAX_DATE_MS)) {
    throw new InvalidTimeError('at', at, `must be epoch milliseconds within ±${MAX_DATE_MS}`);
  }
  return { at: new Date(at).toISOString(), token, metric, window, limit, duration };
}
