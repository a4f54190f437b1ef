/*
 * The rate windows behind `Stats`, shared by every store so they all answer alike.
 *
 * A store may count a window exactly (the memory store does while it still holds every event
 * of the last hour in its ring) or in `RATE_BUCKETS` buckets of `window / 60` each. Bucketed,
 * a rate sums the bucket that holds "now" and the 59 before it, so it counts every event in
 * the last `window · 59/60` seconds plus some of the `window / 60` seconds before that, and
 * never an event older than `window`:
 *
 *     exact(window − window/60) ≤ rate ≤ exact(window)
 *
 * i.e. the 1m rate is within one second, the 10m rate within ten seconds and the 60m rate
 * within one minute of the exact sliding count. Decisions never use these rates: thresholds
 * are evaluated exactly.
 */

/** The windows of `token_rate_1m`, `token_rate_10m` and `token_rate_60m`, in seconds. */
export const RATE_WINDOWS_SECONDS = [60, 600, 3600] as const;

/** Buckets per rate window when a store buckets: the window's resolution is 1/60 of it. */
export const RATE_BUCKETS = 60;

/** The longest rate window, in milliseconds: rate state older than this is dead. */
export const LONGEST_RATE_WINDOW_MS = 3_600_000;
