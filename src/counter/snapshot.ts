import { SnapshotError } from '../errors.js';

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
  readonly keys: readonly SnapshotKey[];
}

/** The snapshot as versioned JSON text, for files. */
export function encodeSnapshot(snapshot: HitCounterSnapshot): string {
  return JSON.stringify(checkSnapshot(snapshot));
}

/** Reads text written by {@link encodeSnapshot}; throws {@link SnapshotError} naming the
 *  first part that is wrong. */
export function decodeSnapshot(text: string): HitCounterSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError('snapshot', 'is not JSON', { cause: error });
  }
  return checkSnapshot(value);
}

/** Checks the shape of a snapshot (not the strategy data: the strategy's `load` does that). */
export function checkSnapshot(value: unknown): HitCounterSnapshot {
  const snapshot = record('snapshot', value);
  if (snapshot.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(
      'format',
      `expected "${SNAPSHOT_FORMAT}", got ${show(snapshot.format)}`,
    );
  }
  if (snapshot.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      'version',
      `version ${show(snapshot.version)} is not readable; this hitwarden reads version ${SNAPSHOT_VERSION}`,
    );
  }
  const strategy = record('strategy', snapshot.strategy);
  if (typeof strategy.kind !== 'string')
    throw new SnapshotError('strategy.kind', 'must be a string');
  const params = record('strategy.params', strategy.params);
  for (const [name, param] of Object.entries(params)) finite(`strategy.params.${name}`, param);
  finite('takenAt', snapshot.takenAt);
  count('totalHits', snapshot.totalHits);
  finite('prunedEvents', snapshot.prunedEvents);
  if (!Array.isArray(snapshot.keys)) throw new SnapshotError('keys', 'must be an array');
  snapshot.keys.forEach((entry: unknown, index: number) => {
    const key = record(`keys[${index}]`, entry);
    if (typeof key.key !== 'string')
      throw new SnapshotError(`keys[${index}].key`, 'must be a string');
    finite(`keys[${index}].lastAt`, key.lastAt);
    if (!Array.isArray(key.data))
      throw new SnapshotError(`keys[${index}].data`, 'must be an array');
    for (const item of key.data) finite(`keys[${index}].data`, item);
  });
  return value as HitCounterSnapshot;
}

function record(path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SnapshotError(path, `must be an object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

function finite(path: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SnapshotError(path, `must hold finite numbers, got ${show(value)}`);
  }
}

function count(path: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new SnapshotError(path, `must be a whole number ≥ 0, got ${show(value)}`);
  }
}

function show(value: unknown): string {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}
