/**
 * A clock returns epoch milliseconds, like `Date.now`. Every time-dependent part of
 * hitwarden takes one, so tests and replays (e.g. `analyze` on a log's own timestamps)
 * drive time instead of sleeping.
 */
export type Clock = () => number;

export const systemClock: Clock = Date.now;

/**
 * A clock that never goes backwards: when the wrapped clock steps back (NTP slew, a VM
 * resumed, a hand-set fake clock), it keeps answering the latest time it has seen.
 * Windows and bans computed from it therefore never grow or revive.
 */
export function monotonic(clock: Clock): Clock {
  let latest = Number.NEGATIVE_INFINITY;
  return () => {
    const now = clock();
    if (now > latest) latest = now;
    return latest;
  };
}
