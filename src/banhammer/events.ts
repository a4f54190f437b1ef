/** A threshold tripped (or `now()` banned a token): a ban started. */
export interface TrippedEvent {
  token: string;
  metric: string;
  threshold: number;
  limit: number;
  /** Seconds. */
  window: number;
  /** Seconds the ban lasts. */
  duration: number;
  /** True when the ban came from `now()` rather than from counted events. */
  manual: boolean;
  /** True for a shadow threshold (`mode: 'shadow'`): it would have banned, and banned
   *  nothing. */
  shadow: boolean;
}

/**
 * An action threw, rejected, timed out, or was dropped because too many were pending.
 *
 * Drops are reported in aggregate: a flood that fills the queue would otherwise pay for one
 * event and one `Error` per dropped action, on the path that decides. So an `overloaded`
 * event stands for `count` drops of one action (one `metric`, `threshold` and `action`) since
 * the last such report, with `token` the first token dropped among them; at most one is
 * emitted per action and turn of the event loop. The `actions_dropped` counter still counts
 * every drop as it happens. For the other reasons `count` is 1 and `token` is the token the
 * action ran for.
 */
export interface ActionErrorEvent {
  token: string;
  metric: string;
  threshold: number;
  /** The action function's name (or `"anonymous"`). */
  action: string;
  reason: 'threw' | 'rejected' | 'timeout' | 'overloaded';
  /** Actions this event stands for: 1, or the drops an `overloaded` event sums up. */
  count: number;
  /** What the action threw or rejected with, as it was (not necessarily an `Error`); for a
   *  timeout or an overload, an `Error` saying so. */
  error: unknown;
}

/**
 * The memory store was at `maxTokens` with every slot it looked at holding a ban in force, so
 * new pairs were not stored and their events were decided by its `whenFull` policy (decided
 * as a first event and forgotten, or refused). Reported in aggregate, like action drops: one
 * event per turn of the event loop for the `count` such events since the last report, with
 * `token` and `metric` those of the first. The `untracked` counter counts every one.
 */
export interface StoreFullEvent {
  token: string;
  metric: string;
  policy: 'untracked' | 'refuse';
  count: number;
}

export interface BanHammerEvents {
  tripped: TrippedEvent;
  action_error: ActionErrorEvent;
  store_full: StoreFullEvent;
}

export type { Listener } from '../events.js';
