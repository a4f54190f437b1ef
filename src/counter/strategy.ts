/**
 * How a {@link HitCounter} keeps its hits. A strategy is a plain description (its options);
 * `create()` makes the mutable state, so one strategy value can be handed to many counters.
 *
 * The counter owns everything that is the same for every strategy: key → slot mapping, the
 * clock and its guards, forgetting idle keys, metrics, events and snapshots. A state only
 * keeps per-slot data, indexed by small integers the counter hands out (`0 … capacity-1`,
 * reused after a key is forgotten). Times are epoch milliseconds, spans are milliseconds at
 * this level (the counter converts the public seconds).
 *
 * To add a strategy, implement these two interfaces; the shared test suite in
 * `test/counter/strategy-contract.ts` can be pointed at it.
 */
export interface CountingStrategy {
  /** Names the strategy in events and snapshots, e.g. `'fixed-window'`. */
  readonly kind: string;
  /** The options that shape the state. Two strategies with the same `kind` and equal `params`
   *  have interchangeable state: swapping between them keeps it, snapshots restore across. */
  readonly params: Readonly<Record<string, number>>;
  /** The longest span, in seconds, that `query` may ask for; a longer one is refused. */
  readonly maxWindowSeconds: number;
  /** Seconds after its newest hit when a key can no longer influence any query, so the
   *  counter may forget it. At least `maxWindowSeconds`. */
  readonly retentionSeconds: number;
  /** A fresh, empty state. */
  create(): StrategyState;
}

/** The mutable side of a {@link CountingStrategy}; every method is called with a slot the
 *  counter has allocated. `now` only decreases when the clock was corrected after a wild
 *  reading (see `ClockGuard`); before it hands such a `now` to a slot holding hits stamped
 *  after it, the counter calls `clampTo`, so a slot never holds a hit later than `now`. */
export interface StrategyState {
  /** Entries held in memory for all slots (the `memory_entries` metric): timestamps for a
   *  log, buckets for a bucketed strategy. */
  readonly entries: number;
  /** Makes room for slots `0 … capacity-1`, keeping the data of existing slots. */
  resize(capacity: number): void;
  /** Counts one hit at `at` (which may be earlier than hits already recorded). This is where
   *  a slot's data is pruned: what no query at `now` or later can reach may go, and must go if
   *  memory is to stay bounded by the traffic of one window. Returns how many hits it dropped,
   *  this one included if it was already out of reach; they are reported as pruned. */
  record(slot: number, at: number, now: number): number;
  /** Hits in `(now - spanMs, now]`, or an estimate of them; `spanMs ≤ maxWindowSeconds·1000`. */
  query(slot: number, now: number, spanMs: number): number;
  /** Forgets the slot (no hit for `retentionSeconds`, so nothing in it is reachable); returns
   *  how many hits it held. */
  clear(slot: number): number;
  /** Moves the slot's hits stamped after `now` to `now`: the clock was corrected back past
   *  them, and a hit stamped in the future counts as happening at the corrected time (so it is
   *  neither lost nor kept out of every window until the clock catches up). O(the slot's data).
   *  Optional: without it the counter clears such a slot and reports its hits pruned with
   *  reason `'clock'`. */
  clampTo?(slot: number, now: number): void;
  /** Optional, for states that keep every hit's time (a log): hands a slot's hits to `into`,
   *  oldest first, so that swapping to another strategy replays them instead of dropping them. */
  replay?(slot: number, into: (at: number) => void): void;
  /** The slot's data as finite numbers, for a snapshot. */
  save(slot: number): number[];
  /** Loads data written by `save` of a state with equal params into an empty slot. Throws an
   *  `Error` saying what is wrong when the data could not have come from `save`, including a
   *  hit stamped after `newestAt` (the key's newest hit, which no saved hit is later than). */
  load(slot: number, data: readonly number[], newestAt: number): void;
}
