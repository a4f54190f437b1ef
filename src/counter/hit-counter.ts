import {
  CapacityError,
  ConfigError,
  FutureTimestampError,
  HitwardenError,
  InvalidTimeError,
  quoteInput,
  SnapshotError,
} from '../errors.js';
import { Emitter } from '../events.js';
import {
  choiceOption,
  functionOption,
  integerOption,
  numberOption,
  optionsObject,
  readOption,
} from '../options.js';
import { ImageReader } from '../persist/image-reader.js';
import type { StateExport, StateImage, StateMeta } from '../persist/state-image.js';
import { type Clock, ClockGuard, systemClock } from '../time/clock.js';

/** `meta.version` of a counter's image (its snapshot carries a version of its own). */
const IMAGE_VERSION = 1;

import { FixedWindow } from './fixed-window.js';
import { grown, MAX_KEYS } from './options.js';
import { NONE, RecencyList } from './recency.js';
import {
  checkSnapshot,
  type HitCounterSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  type SnapshotKey,
} from './snapshot.js';
import type { CountingStrategy, StrategyState } from './strategy.js';
import { checkStrategy, createState, describe, sameStrategy } from './strategy-checks.js';

export interface HitCounterOptions {
  /** How hits are kept. @default new FixedWindow({ windowSeconds: 10 }) */
  strategy?: CountingStrategy;
  /** Epoch milliseconds, read under {@link ClockGuard}'s rule: a small step back is held at
   *  the latest reading, a larger one is believed as a correction. @default Date.now */
  clock?: Clock;
  /** How far ahead of the clock a hit's timestamp may be, in seconds (at most a day), before
   *  `record` refuses it with a {@link FutureTimestampError}. @default 1 */
  futureToleranceSeconds?: number;
  /** Keys expected at once (at most `maxKeys`): sizes the slot tables up front so they never
   *  grow mid-traffic. */
  expectedKeys?: number;
  /**
   * Most keys held at once, from 1 to 2^23 (8,388,608: past it V8's `Map` can fail). The
   * memory this bounds is about `maxKeys ×` the strategy's bytes per key (~330 B for the default
   * FixedWindow, plus the key strings). @default 100_000
   */
  maxKeys?: number;
  /**
   * What a new key does when `maxKeys` keys are held and the least recently recorded of them
   * is not idle: `'evict'` forgets that key (a `pruned` event with reason `'evicted'`, counted in
   * `evicted_keys`); `'refuse'` throws {@link CapacityError} and changes nothing. An idle key is
   * forgotten first either way. @default 'evict'
   */
  whenFull?: 'evict' | 'refuse';
}

/** Why hits left memory: see {@link HitCounterEvents.pruned}. */
export type PruneReason = 'expired' | 'idle' | 'evicted' | 'clock';

/** What each event hands its listeners. */
export interface HitCounterEvents {
  /** Every recorded hit. Costs nothing while nobody listens. */
  hit_recorded: { key: string; at: number };
  /** Hits dropped from memory: aged past the strategy's reach (`expired`, including a hit that
   *  arrived already out of reach), with a key forgotten after going quiet (`idle`) or to make
   *  room for a new key at `maxKeys` (`evicted`, sent even when it held no hits), or stamped
   *  after a corrected clock by a strategy that cannot move them to now (`clock`, only for
   *  user strategies without `clampTo`). */
  pruned: { key: string; removed: number; reason: PruneReason };
  /** `stateKept`: the same kind and params, nothing changed; `converted`: the old state handed
   *  its hits over (a log's timestamps replayed into the new strategy). Neither: reset. */
  strategy_swapped: { from: string; to: string; stateKept: boolean; converted: boolean };
  /** The previous strategy's state was dropped because the new one cannot read it. */
  strategy_reset: {
    from: string;
    to: string;
    reason: string;
    keysDropped: number;
    entriesDropped: number;
  };
  snapshot_taken: { strategy: string; keys: number; takenAt: number };
  snapshot_restored: { strategy: string; keys: number; takenAt: number };
}

export type HitCounterEvent = keyof HitCounterEvents;
type Listener<E extends HitCounterEvent> = (payload: HitCounterEvents[E]) => void;

export interface HitCounterMetrics {
  /** Hits recorded since the counter was made (or restored). */
  total_hits: number;
  /** Keys with state in memory. */
  keys_count: number;
  /** Hits dropped from memory since then (estimated, for Morris). */
  pruned_events: number;
  /** Timestamps (log) or buckets (bucketed strategies) held for all keys. */
  memory_entries: number;
  /** Keys forgotten, though not idle, to make room for new ones at `maxKeys`. */
  evicted_keys: number;
}

const EVENTS: readonly HitCounterEvent[] = [
  'hit_recorded',
  'pruned',
  'strategy_swapped',
  'strategy_reset',
  'snapshot_taken',
  'snapshot_restored',
];

/** Least recent keys examined for idleness per call: enough to keep up with any arrival
 *  rate of new keys, little enough to stay constant time. */
const SWEEP_STEPS = 2;
const MIN_CAPACITY = 16;
/** Enough for the keys of most services (endpoints, users, tenants), and ~33 MB with the
 *  default strategy: a flood of distinct keys evicts the least recent ones instead of growing
 *  the process without bound. */
const DEFAULT_MAX_KEYS = 100_000;
/** A day: a caller whose clock runs further ahead than this is broken, not skewed. */
const MAX_FUTURE_TOLERANCE_SECONDS = 86_400;

const noHitListener = (_key: string, _at: number): void => {};

/**
 * Per-key hit counts over sliding time spans, with a pluggable {@link CountingStrategy}.
 *
 * ```ts
 * const hits = new HitCounter({ strategy: new SlidingLog({ maxWindowSeconds: 60 }) });
 * hits.record('/login');
 * hits.query('/login', 10); // hits in the last 10 seconds
 * ```
 *
 * Keys live in slots of typed arrays, kept in order of their last record. Each call looks at
 * the least recent keys and forgets those that had no hit for the strategy's retention, so
 * memory follows the keys in use; at `maxKeys` a new key takes the place of the least recent
 * one. No call ever walks all keys (except `snapshot`, `restore` and a `swapStrategy` that
 * converts or resets, which copy or drop everything by nature).
 */
export class HitCounter {
  #strategy: CountingStrategy;
  #state: StrategyState;
  #maxWindowSeconds: number;
  #retentionMs: number;
  readonly #clock: ClockGuard;
  readonly #toleranceMs: number;
  readonly #toleranceSeconds: number;
  /** The latest time any state may be stamped at: the latest clock reading or restored hit.
   *  While the clock reads earlier than this (it was corrected), a slot may hold hits in the
   *  future, and each is moved to now when its key is next touched. In a typed array so that
   *  writing it does not box a double. */
  readonly #stampedUntil = new Float64Array([Number.NEGATIVE_INFINITY]);

  readonly #maxKeys: number;
  readonly #evictWhenFull: boolean;
  #slots = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  /** Newest hit per slot, epoch ms: a slot is idle once this is older than the retention. */
  #lastAt: Float64Array = new Float64Array(0);
  #recency = new RecencyList();
  #free: Uint32Array = new Uint32Array(0);
  #freeCount = 0;
  /** Slots handed out so far (the high-water mark). */
  #used = 0;
  #capacity = 0;

  #totalHits = 0;
  #pruned = 0;
  #evicted = 0;
  readonly #events = new Emitter<HitCounterEvents>('HitCounter', (event) => {
    if (event === 'hit_recorded') this.#installHitHook();
  });
  /** Installed only while `hit_recorded` has listeners, so the hot path pays one empty call. */
  #emitHit = noHitListener;

  constructor(given?: HitCounterOptions) {
    const options = optionsObject('HitCounter', given);
    const strategy =
      options.strategy === undefined ? new FixedWindow({ windowSeconds: 10 }) : options.strategy;
    // A strategy is the user's object: its getters and methods run here, guarded.
    const spans = readOption('HitCounter.strategy', () =>
      checkStrategy('HitCounter.strategy', strategy),
    );
    this.#strategy = strategy;
    this.#state = readOption('HitCounter.strategy', () =>
      createState('HitCounter.strategy', strategy),
    );
    this.#maxWindowSeconds = spans.maxWindowSeconds;
    this.#retentionMs = spans.retentionSeconds * 1000;
    this.#clock = new ClockGuard(
      functionOption(
        'HitCounter.clock',
        options.clock,
        systemClock,
        'returning epoch milliseconds',
      ),
    );
    this.#toleranceSeconds = numberOption(
      'HitCounter.futureToleranceSeconds',
      options.futureToleranceSeconds,
      1,
      { min: 0, max: MAX_FUTURE_TOLERANCE_SECONDS, unit: 'seconds' },
    );
    this.#toleranceMs = this.#toleranceSeconds * 1000;
    this.#maxKeys = integerOption(
      'HitCounter.maxKeys',
      options.maxKeys,
      DEFAULT_MAX_KEYS,
      1,
      MAX_KEYS,
    );
    this.#evictWhenFull =
      choiceOption('HitCounter.whenFull', options.whenFull, 'evict', ['evict', 'refuse']) ===
      'evict';
    const expected = integerOption(
      'HitCounter.expectedKeys',
      options.expectedKeys,
      0,
      0,
      this.#maxKeys,
    );
    this.#grow(Math.max(expected, MIN_CAPACITY));
  }

  /** The strategy in use. */
  get strategy(): CountingStrategy {
    return this.#strategy;
  }

  /**
   * Counts one hit for `key` at `at` (epoch milliseconds, default: the clock). A timestamp ahead
   * of the clock counts as now; more than `futureToleranceSeconds` ahead, it throws
   * {@link FutureTimestampError}; not a finite number, {@link InvalidTimeError}; either way
   * nothing changes.
   * Late hits are fine: they are counted where they belong, or dropped as pruned when no query
   * can reach them any more. A new key at `maxKeys` keys forgets the least recent one (or, with
   * `whenFull: 'refuse'`, throws {@link CapacityError} and changes nothing).
   */
  record(key: string, at?: number): void {
    if (typeof key !== 'string') throw invalidKey(key);
    // `at - at` is 0 for finite numbers only; the type is checked first so that nothing the
    // caller passes is ever coerced (a string compares as a number, an object calls valueOf).
    if (at !== undefined && (typeof at !== 'number' || at - at !== 0)) {
      throw new InvalidTimeError('at', at, 'must be epoch milliseconds (a finite number)');
    }
    const now = this.#now();
    if (at === undefined) {
      at = now;
    } else if (at > now) {
      if (at > now + this.#toleranceMs) {
        throw new FutureTimestampError(at, now, this.#toleranceSeconds);
      }
      // Within the tolerance: the caller's clock runs a little ahead; the hit happens now.
      at = now;
    } else if (at <= now - this.#retentionMs) {
      // No query can reach it: it is dropped without touching (or making room for) its key.
      this.#totalHits++;
      this.#prunedFrom(key, 1, 'expired');
      this.#sweep(now);
      this.#emitHit(key, at);
      return;
    }
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#admit(key, now);
    } else {
      if (this.#lastAt[slot]! > now) this.#settle(slot, now);
      this.#recency.touch(slot);
    }
    if (at > this.#lastAt[slot]!) this.#lastAt[slot] = at;
    const dropped = this.#state.record(slot, at, now);
    this.#totalHits++;
    if (dropped !== 0) this.#prunedFrom(key, dropped, 'expired');
    this.#sweep(now);
    this.#emitHit(key, at);
  }

  /**
   * Hits for `key` in the last `lastSeconds` counted back from the clock — exactly, or as the
   * strategy approximates it (see each strategy). A span that is negative, not a number or
   * longer than the strategy's `maxWindowSeconds` throws {@link InvalidTimeError}.
   */
  query(key: string, lastSeconds: number): number {
    if (typeof key !== 'string') throw invalidKey(key);
    if (
      typeof lastSeconds !== 'number' ||
      !(lastSeconds >= 0 && lastSeconds <= this.#maxWindowSeconds)
    ) {
      this.#badSpan(lastSeconds);
    }
    const now = this.#now();
    this.#sweep(now);
    const slot = this.#slots.get(key);
    if (slot === undefined) return 0;
    if (now < this.#stampedUntil[0]! && this.#lastAt[slot]! > now) this.#settle(slot, now);
    return this.#state.query(slot, now, lastSeconds * 1000);
  }

  /**
   * Switches strategy. The state is kept when the new strategy has the same kind and params
   * (its data means the same thing). A state that keeps every hit (SlidingLog) is converted:
   * its hits are replayed into the new strategy, exactly as if it had recorded them (hits
   * older than the log kept are gone, so spans longer than that undercount until they age
   * out). Any other state is dropped — `strategy_reset` says how much — because buckets and
   * estimates cannot be turned back into hits. `total_hits` and `pruned_events` carry on.
   */
  swapStrategy(strategy: CountingStrategy): void {
    const spans = checkStrategy('swapStrategy(strategy)', strategy);
    const from = this.#strategy.kind;
    const stateKept = sameStrategy(this.#strategy, strategy);
    const converted = !stateKept && this.#state.replay !== undefined;
    if (converted) {
      this.#convert(strategy);
    } else if (!stateKept) {
      const state = createState('swapStrategy(strategy)', strategy);
      const keysDropped = this.#slots.size;
      const entriesDropped = this.#state.entries;
      this.#state = state;
      this.#resetSlots();
      this.#emit('strategy_reset', {
        from,
        to: strategy.kind,
        reason: `${describe(strategy)} cannot read the state of ${describe(this.#strategy)}`,
        keysDropped,
        entriesDropped,
      });
    }
    this.#strategy = strategy;
    this.#maxWindowSeconds = spans.maxWindowSeconds;
    this.#retentionMs = spans.retentionSeconds * 1000;
    this.#emit('strategy_swapped', { from, to: strategy.kind, stateKept, converted });
  }

  /** Replays every hit the current state holds into a fresh state of `strategy`, slot by
   *  slot (keys keep their slots and `lastAt`). */
  #convert(strategy: CountingStrategy): void {
    const now = this.#now();
    const previous = this.#state;
    const state = createState('swapStrategy(strategy)', strategy);
    state.resize(this.#capacity);
    let dropped = 0;
    for (const slot of this.#slots.values()) {
      // Hits stamped after a corrected clock count as now (see #settle).
      previous.replay!(slot, (at) => {
        dropped += state.record(slot, Math.min(at, now), now);
      });
      if (this.#lastAt[slot]! > now) this.#lastAt[slot] = now;
    }
    this.#state = state;
    this.#pruned += dropped;
  }

  /** The whole state as plain data; see {@link HitCounterSnapshot}. */
  snapshot(): HitCounterSnapshot {
    const takenAt = this.#now();
    const keys: SnapshotKey[] = [];
    for (let slot = this.#recency.oldest; slot !== NONE; slot = this.#recency.newer(slot)) {
      if (this.#lastAt[slot]! > takenAt) this.#settle(slot, takenAt);
      keys.push({
        key: this.#keys[slot]!,
        lastAt: this.#lastAt[slot]!,
        data: this.#state.save(slot),
      });
    }
    const snapshot: HitCounterSnapshot = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      strategy: { kind: this.#strategy.kind, params: { ...this.#strategy.params } },
      takenAt,
      totalHits: this.#totalHits,
      prunedEvents: this.#pruned,
      evictedKeys: this.#evicted,
      keys,
    };
    this.#emit('snapshot_taken', { strategy: this.#strategy.kind, keys: keys.length, takenAt });
    return snapshot;
  }

  /**
   * The whole state as a `StateImage` for `src/persist/` (the seam every engine shares):
   * `meta.snapshot` is what `snapshot()` returns, there are no arrays, and `release` has
   * nothing to do (the snapshot is a copy). Emits `snapshot_taken` like `snapshot()`.
   */
  exportState(): StateExport {
    const snapshot = this.snapshot();
    const meta: { [key: string]: StateMeta } = {
      format: SNAPSHOT_FORMAT,
      version: IMAGE_VERSION,
      takenAt: snapshot.takenAt,
      snapshot: snapshot as unknown as StateMeta,
    };
    return { image: { meta, arrays: {} }, release: () => {} };
  }

  /**
   * Loads an image from `exportState`: `restore` of its snapshot, with the same checks; a
   * `SnapshotError`'s path is given from the image (`meta.snapshot.keys[3].data`).
   */
  loadState(image: StateImage): void {
    const reader = new ImageReader(image, SNAPSHOT_FORMAT, IMAGE_VERSION);
    try {
      this.restore(reader.field('snapshot') as unknown as HitCounterSnapshot);
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
      const path = error.path === 'snapshot' ? 'meta.snapshot' : `meta.snapshot.${error.path}`;
      throw new SnapshotError(path, error.message.slice(error.path.length + 2), {
        cause: error,
      });
    }
  }

  /**
   * Replaces the whole state with a snapshot's, metrics included. Throws {@link SnapshotError}
   * — and changes nothing — when the snapshot is malformed, of another format version, or was
   * taken with another strategy (swap to that strategy first).
   */
  restore(snapshot: HitCounterSnapshot): void {
    const checked = checkSnapshot(snapshot);
    if (!sameStrategy(this.#strategy, checked.strategy)) {
      throw new SnapshotError(
        'strategy',
        `taken with ${describe(checked.strategy)}, this counter uses ${describe(this.#strategy)}`,
      );
    }
    const count = checked.keys.length;
    if (count > this.#maxKeys) {
      throw new SnapshotError(
        'keys',
        `${count} keys, this counter holds at most ${this.#maxKeys} (maxKeys)`,
      );
    }
    const state = createState('restore', this.#strategy);
    const capacity = this.#capacityFor(count);
    const recency = new RecencyList();
    let lastAt: Float64Array;
    let free: Uint32Array;
    try {
      state.resize(capacity);
      recency.resize(capacity);
      lastAt = new Float64Array(capacity);
      free = new Uint32Array(capacity);
    } catch (error) {
      throw this.#outOfMemory(capacity, error);
    }
    const slots = new Map<string, number>();
    const keys: string[] = [];
    // `record` never stamps a hit later than its clock, so nothing in a snapshot it produced
    // is later than `takenAt`; the tolerance leaves room for a producer a little ahead.
    const latestAllowed = checked.takenAt + this.#toleranceMs;
    let latest = Number.NEGATIVE_INFINITY;
    for (let slot = 0; slot < count; slot++) {
      const entry = checked.keys[slot]!;
      if (slots.has(entry.key)) {
        throw new SnapshotError(`keys[${slot}].key`, `${quoteInput(entry.key)} appears twice`);
      }
      if (entry.lastAt > latestAllowed) {
        throw new SnapshotError(
          `keys[${slot}].lastAt`,
          `${entry.lastAt} is after takenAt (${checked.takenAt}) by more than futureToleranceSeconds`,
        );
      }
      try {
        state.load(slot, entry.data, entry.lastAt);
      } catch (error) {
        const rule = error instanceof Error ? error.message : String(error);
        throw new SnapshotError(`keys[${slot}].data`, rule, { cause: error });
      }
      slots.set(entry.key, slot);
      keys.push(entry.key);
      lastAt[slot] = entry.lastAt;
      // The snapshot lists keys least recent first: their order for eviction carries over.
      recency.push(slot);
      if (entry.lastAt > latest) latest = entry.lastAt;
    }
    // A snapshot from a clock ahead of this one holds hits in this one's future.
    if (latest > this.#stampedUntil[0]!) this.#stampedUntil[0] = latest;

    this.#state = state;
    this.#slots = slots;
    this.#keys = keys;
    this.#lastAt = lastAt;
    this.#recency = recency;
    this.#free = free;
    this.#freeCount = 0;
    this.#used = count;
    this.#capacity = capacity;
    this.#totalHits = checked.totalHits;
    this.#pruned = checked.prunedEvents;
    this.#evicted = checked.evictedKeys ?? 0;
    this.#emit('snapshot_restored', {
      strategy: this.#strategy.kind,
      keys: count,
      takenAt: checked.takenAt,
    });
  }

  metrics(): HitCounterMetrics {
    return {
      total_hits: this.#totalHits,
      keys_count: this.#slots.size,
      pruned_events: Math.round(this.#pruned),
      memory_entries: this.#state.entries,
      evicted_keys: this.#evicted,
    };
  }

  /** Subscribes to an event; listeners run synchronously after the state changed. What one
   *  throws is caught (never reaching the caller of `record` …), counted in `listenerErrors`
   *  and reported once per listener as a process warning (src/events.ts). */
  on<E extends HitCounterEvent>(event: E, listener: Listener<E>): this {
    this.#checkEvent(event, listener);
    this.#events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off<E extends HitCounterEvent>(event: E, listener: Listener<E>): this {
    this.#checkEvent(event, listener);
    this.#events.off(event, listener);
    return this;
  }

  /** Listener calls that threw (caught, never reaching the caller; see src/events.ts). */
  get listenerErrors(): number {
    return this.#events.listenerErrors;
  }

  #installHitHook(): void {
    const events = this.#events;
    this.#emitHit = events.has('hit_recorded')
      ? (key, at) => events.emit('hit_recorded', { key, at })
      : noHitListener;
  }

  #checkEvent(event: unknown, listener: unknown): void {
    if (!EVENTS.includes(event as HitCounterEvent)) {
      throw new ConfigError('event', `${quoteInput(event)} is not one of ${EVENTS.join(', ')}`);
    }
    if (typeof listener !== 'function') throw new ConfigError('listener', 'must be a function');
  }

  #emit<E extends HitCounterEvent>(event: E, payload: HitCounterEvents[E]): void {
    this.#events.emit(event, payload);
  }

  /** The clock under {@link ClockGuard}'s rule. */
  #now(): number {
    const now = this.#clock.read();
    if (now > this.#stampedUntil[0]!) this.#stampedUntil[0] = now;
    return now;
  }

  /** The clock was corrected back past the slot's newest hit: its hits stamped after `now`
   *  count as happening now, so none is lost and none stays out of every window (or keeps the
   *  key from going idle) until the clock catches up with it. */
  #settle(slot: number, now: number): void {
    if (this.#state.clampTo !== undefined) {
      this.#state.clampTo(slot, now);
    } else {
      const held = this.#state.clear(slot);
      if (held !== 0) this.#prunedFrom(this.#keys[slot]!, held, 'clock');
    }
    this.#lastAt[slot] = now;
  }

  #badSpan(lastSeconds: unknown): never {
    if (typeof lastSeconds !== 'number' || Number.isNaN(lastSeconds) || lastSeconds < 0) {
      throw new InvalidTimeError('lastSeconds', lastSeconds, 'must be a number of seconds ≥ 0');
    }
    throw new InvalidTimeError(
      'lastSeconds',
      lastSeconds,
      `longer than the ${this.#maxWindowSeconds} s that ${describe(this.#strategy)} keeps; raise its maxWindowSeconds`,
    );
  }

  #prunedFrom(key: string, removed: number, reason: PruneReason): void {
    this.#pruned += removed;
    if (this.#events.has('pruned')) this.#emit('pruned', { key, removed, reason });
  }

  /** A slot for a new key, made the most recent; at `maxKeys` the least recent key gives up
   *  its slot first. */
  #admit(key: string, now: number): number {
    if (this.#slots.size >= this.#maxKeys) this.#makeRoom(now);
    let slot: number;
    if (this.#freeCount > 0) {
      slot = this.#free[--this.#freeCount]!;
    } else {
      if (this.#used === this.#capacity) this.#grow(this.#capacity * 2);
      slot = this.#used++;
    }
    this.#slots.set(key, slot);
    this.#keys[slot] = key;
    this.#lastAt[slot] = Number.NEGATIVE_INFINITY;
    this.#recency.push(slot);
    return slot;
  }

  /** Frees the least recent key's slot: as idle if it is, else evicted, or refused. */
  #makeRoom(now: number): void {
    const slot = this.#recency.oldest;
    if (this.#lastAt[slot]! <= now - this.#retentionMs) {
      this.#forget(slot, 'idle');
    } else if (this.#evictWhenFull) {
      this.#evicted++;
      this.#forget(slot, 'evicted');
    } else {
      throw new CapacityError(
        'HitCounter.maxKeys',
        `${this.#maxKeys} keys are held and none is idle; whenFull is 'refuse'`,
      );
    }
  }

  /** Forgets the key in `slot`, reporting the hits it held as pruned for `reason`. */
  #forget(slot: number, reason: PruneReason): void {
    const key = this.#keys[slot]!;
    const held = this.#state.clear(slot);
    this.#slots.delete(key);
    this.#keys[slot] = undefined;
    this.#recency.remove(slot);
    this.#free[this.#freeCount++] = slot;
    if (held !== 0 || reason === 'evicted') this.#prunedFrom(key, held, reason);
  }

  /** The slot tables' size for `keys` keys: a power of two from MIN_CAPACITY, at most
   *  `maxKeys`. */
  #capacityFor(keys: number): number {
    let capacity = MIN_CAPACITY;
    while (capacity < keys) capacity *= 2;
    return Math.min(capacity, this.#maxKeys);
  }

  /** Grows (or presizes) the slot tables for `wanted` keys: a copy of typed arrays, amortised
   *  over the keys that filled them; `expectedKeys` avoids it altogether. Nothing changes when
   *  the memory cannot be had. */
  #grow(wanted: number): void {
    const capacity = this.#capacityFor(Math.max(wanted, this.#capacity));
    if (capacity <= this.#capacity) return;
    let lastAt: Float64Array;
    let free: Uint32Array;
    try {
      lastAt = grown(this.#lastAt, capacity);
      free = grown(this.#free, capacity);
      this.#recency.resize(capacity);
      this.#state.resize(capacity);
    } catch (error) {
      throw this.#outOfMemory(capacity, error);
    }
    this.#lastAt = lastAt;
    this.#free = free;
    this.#capacity = capacity;
  }

  /** A typed error for typed arrays the system would not allocate (V8 throws `RangeError`);
   *  anything else a user's state throws from `resize` goes up as it is. */
  #outOfMemory(capacity: number, error: unknown): unknown {
    if (!(error instanceof RangeError)) return error;
    return new CapacityError(
      'HitCounter.maxKeys',
      `could not allocate the tables for ${capacity} keys (${error.message}); lower maxKeys or use a strategy with fewer buckets`,
      { cause: error },
    );
  }

  #resetSlots(): void {
    this.#slots = new Map();
    this.#keys = [];
    this.#lastAt = new Float64Array(0);
    this.#recency = new RecencyList();
    this.#free = new Uint32Array(0);
    this.#freeCount = 0;
    this.#used = 0;
    this.#capacity = 0;
    this.#grow(MIN_CAPACITY);
  }

  /** Looks at the least recent keys and forgets those gone idle; it stops at the first that is
   *  not, as the keys after it were recorded to since. It reads only their `lastAt`: live keys'
   *  data is pruned by their own records, so the sweep never touches (or misses the cache on)
   *  it. A key stamped after a corrected clock counts as recorded now (see #settle). */
  #sweep(now: number): void {
    const idleBefore = now - this.#retentionMs;
    for (let step = 0; step < SWEEP_STEPS; step++) {
      const slot = this.#recency.oldest;
      if (slot === NONE) return;
      const last = this.#lastAt[slot]!;
      if (last <= idleBefore) {
        this.#forget(slot, 'idle');
      } else if (last > now) {
        this.#settle(slot, now);
        this.#recency.touch(slot);
      } else {
        return;
      }
    }
  }
}

function invalidKey(key: unknown): HitwardenError {
  return new HitwardenError(
    'HITWARDEN_INVALID_KEY',
    `key must be a string, got ${quoteInput(key)}`,
  );
}
