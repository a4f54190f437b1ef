import { quoteInput, SnapshotError } from '../errors.js';
import { MAX_KEYS } from './options.js';

export const SNAPSHOT_FORMAT = 'hitwarden.hit-counter';
export const SNAPSHOT_VERSION = 1;

/** One key's part of a snapshot. */
export interface SnapshotKey {
  readonly key: string;
  /** Epoch milliseconds of the key's newest hit. */
  readonly lastAt: number;
  /** The strategy's data for the key (see each state's `save`). */
  readonly data: readonly number[];
}

/**
 * The whole state of a {@link HitCounter} as plain data: strings, finite numbers, arrays and
 * objects only, so it survives `structuredClone`, `postMessage` and {@link encodeSnapshot}.
 */
export interface HitCounterSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof SNAPSHOT_VERSION;
  /** The strategy it was taken with; restore refuses any other. */
  readonly strategy: { readonly kind: string; readonly params: Readonly<Record<string, number>> };
  /** The counter's clock when it was taken, epoch milliseconds. */
  readonly takenAt: number;
  readonly totalHits: number;
  readonly prunedEvents: number;
  /** Keys evicted at `maxKeys` (absent from snapshots written before it was counted). */
  readonly evictedKeys?: number;
  /** Least recently recorded first: a restored counter evicts in the same order. */
  readonly keys: readonly SnapshotKey[];
}

/** The snapshot as versioned JSON text, for files. Only the snapshot's own fields are
 *  written, so anything else attached to the object is left out rather than serialised. */
export function encodeSnapshot(snapshot: HitCounterSnapshot): string {
  const checked = checkSnapshot(snapshot);
  const plain: HitCounterSnapshot = {
    format: checked.format,
    version: checked.version,
    strategy: { kind: checked.strategy.kind, params: { ...checked.strategy.params } },
    takenAt: checked.takenAt,
    totalHits: checked.totalHits,
    prunedEvents: checked.prunedEvents,
    ...(checked.evictedKeys === undefined ? {} : { evictedKeys: checked.evictedKeys }),
    keys: checked.keys.map(({ key, lastAt, data }) => ({ key, lastAt, data: [...data] })),
  };
  return JSON.stringify(plain);
}

/** Reads text written by {@link encodeSnapshot}; throws {@link SnapshotError} naming the
 *  first part that is wrong. */
export function decodeSnapshot(text: string): HitCounterSnapshot {
  if (typeof text !== 'string') {
    throw new SnapshotError('snapshot', `must be JSON text, got ${quoteInput(text)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError('snapshot', 'is not JSON', { cause: error });
  }
  return checkSnapshot(value);
}

/** Checks the shape of a snapshot: every part of the right type, counts whole and ≥ 0, at most
 *  `MAX_KEYS` keys, no holes. What only the counter or the strategy can judge (the strategy
 *  data, stamps against `takenAt`, the counter's `maxKeys`) `HitCounter.restore` checks. */
export function checkSnapshot(value: unknown): HitCounterSnapshot {
  const snapshot = object('snapshot', value);
  if (snapshot.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(
      'format',
      `expected "${SNAPSHOT_FORMAT}", got ${quoteInput(snapshot.format)}`,
    );
  }
  if (snapshot.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      'version',
      `version ${quoteInput(snapshot.version)} is not readable; this hitwarden reads version ${SNAPSHOT_VERSION}`,
    );
  }
  const strategy = object('strategy', snapshot.strategy);
  if (typeof strategy.kind !== 'string') {
    throw new SnapshotError('strategy.kind', `must be a string, got ${quoteInput(strategy.kind)}`);
  }
  const params = object('strategy.params', strategy.params);
  for (const [name, param] of Object.entries(params)) finite(`strategy.params.${name}`, param);
  finite('takenAt', snapshot.takenAt);
  count('totalHits', snapshot.totalHits);
  // Estimating strategies (Morris) prune estimates, so the sum may be fractional.
  finite('prunedEvents', snapshot.prunedEvents);
  if ((snapshot.prunedEvents as number) < 0) {
    throw new SnapshotError(
      'prunedEvents',
      `must be ≥ 0, got ${quoteInput(snapshot.prunedEvents)}`,
    );
  }
  if (snapshot.evictedKeys !== undefined) count('evictedKeys', snapshot.evictedKeys);
  const keys = snapshot.keys;
  if (!Array.isArray(keys))
    throw new SnapshotError('keys', `must be an array, got ${quoteInput(keys)}`);
  if (keys.length > MAX_KEYS) {
    throw new SnapshotError('keys', `${keys.length} keys, a counter holds at most ${MAX_KEYS}`);
  }
  for (let index = 0; index < keys.length; index++) {
    const key = object(`keys[${index}]`, keys[index]);
    if (typeof key.key !== 'string') {
      throw new SnapshotError(`keys[${index}].key`, `must be a string, got ${quoteInput(key.key)}`);
    }
    finite(`keys[${index}].lastAt`, key.lastAt);
    const data = key.data;
    if (!Array.isArray(data)) {
      throw new SnapshotError(`keys[${index}].data`, `must be an array, got ${quoteInput(data)}`);
    }
    for (let item = 0; item < data.length; item++)
      finite(`keys[${index}].data[${item}]`, data[item]);
  }
  return value as HitCounterSnapshot;
}

function object(path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SnapshotError(path, `must be an object, got ${quoteInput(value)}`);
  }
  return value as Record<string, unknown>;
}

function finite(path: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SnapshotError(path, `must be a finite number, got ${quoteInput(value)}`);
  }
}

function count(path: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new SnapshotError(path, `must be a whole number ≥ 0, got ${quoteInput(value)}`);
  }
}
