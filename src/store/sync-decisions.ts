/*
 * The optional synchronous side of a store (`Store#openSync`). A store whose state is in the
 * process can decide without a promise per event; the BanHammer then calls it directly, and
 * `incr` costs a resolved promise instead of a store round trip through the microtask queue.
 *
 * The protocol is stateful so that a decision allocates nothing: a decision's per-threshold
 * outcome is written into `thresholdState`, and rates into `rates`, where the caller reads
 * them before its next call.
 */

/** `SyncDecisions#thresholdState` values. */
export const NOT_HIT = 0;
/** This event tripped the threshold: a ban started; run its actions. */
export const TRIPPED = 1;
/** The threshold's ban was in force: the event is refused; re-run its actions. */
export const BLOCKING = 2;

/** Bits of the value `SyncDecisions#incr` returns. */
export const PASSED = 1;
/** Some threshold is `TRIPPED` or `BLOCKING`: read `thresholdState`. */
export const HAS_ACTIONS = 2;
/**
 * The store was full and could not keep the event's new pair: the event was decided without
 * it (the memory store's `whenFull`), and nothing of it is remembered. The BanHammer counts it
 * in `counters.untracked` and reports it with a `store_full` event.
 */
export const UNTRACKED = 4;

export interface SyncDecisions {
  /**
   * Per threshold of the metric of the last decision: `NOT_HIT`, `TRIPPED` or `BLOCKING`.
   * Valid until the next call; only its first `thresholds.length` entries mean anything.
   */
  readonly thresholdState: Uint8Array;
  /** `token_rate_1m`, `_10m`, `_60m`, written by `readRates` and `readLastRates`. */
  readonly rates: Float64Array;
  /** The last decision's `Quota`, written by `readLastQuota`: threshold (−1 when the metric
   *  has no enforcing threshold), remaining, reset ms. */
  readonly quota: Float64Array;
  /** For a store that may answer `UNTRACKED`: what it then does with the event (reported in
   *  the BanHammer's `store_full` event). */
  readonly whenFull?: 'untracked' | 'refuse';
  /** Counts one event of metric index `metric` and decides it: `PASSED | HAS_ACTIONS |
   *  UNTRACKED` bits. Throws only what the store's clock throws (nothing is counted then). */
  incr(token: string, metric: number): number;
  /**
   * Counts and decides `tokens.length` events of `metric`, in order, as one `incr` per token
   * would: `out[i]` gets the bits, and for a decision with `HAS_ACTIONS`, `onActions(i)` is
   * called at once, while `thresholdState` holds its outcome. With `rates` (3 × `tokens.length`
   * long), `rates[3i .. 3i + 2]` get each token's rates right after its event.
   */
  incrMany(
    tokens: ArrayLike<string>,
    metric: number,
    out: Uint8Array,
    onActions?: (i: number) => void,
    rates?: Float64Array,
  ): void;
  /** Writes the rates of the pair the last `incr` touched into `rates`. */
  readLastRates(): void;
  /** `Decision#banMs` of the last `incr`: ms until every enforcing ban on its token, of any
   *  metric, has ended; 0 when none. */
  readLastBanMs(): number;
  /** Writes `Decision#quota` of the last `incr` into `quota`. */
  readLastQuota(): void;
  /** `Store#banMs`, synchronously. */
  banMs(token: string): number;
  /** Writes the rates of `token` for `metric` into `rates`; false (and zeros) if untracked. */
  readRates(token: string, metric: number): boolean;
}
