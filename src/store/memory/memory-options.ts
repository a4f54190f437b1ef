import { choiceOption, integerOption, optionsObject } from '../../options.js';

/** What a full table does with a new pair when no slot can be given up (see core.ts, Floods). */
export type WhenFull = 'untracked' | 'refuse';

/** The memory store's options, read and checked. */
export interface MemoryOptions {
  readonly maxTokens: number;
  readonly initialCapacity: number;
  readonly scanBatch: number;
  readonly whenFull: WhenFull;
}

export const DEFAULT_MAX_TOKENS = 2_000_000;
/**
 * Most pairs a store can track: a slot's record sits at `slot << 4` in an Int32Array, which
 * must stay below 2^31, and 2^26 slots are 4 GB of records already. `maxTokens: Infinity`
 * means this.
 */
export const MAX_TOKENS = 2 ** 26;
/** Pairs the index has room for at first, unless `initialCapacity` says otherwise. */
export const DEFAULT_INITIAL_CAPACITY = 1024;
const DEFAULT_SCAN_BATCH = 1000;
const WHEN_FULL: readonly WhenFull[] = ['untracked', 'refuse'];

/**
 * Reads the options of a `MemoryStore` (and of its core) under the one rule of src/options.ts,
 * with paths `MemoryStore.<option>`. `initialCapacity` above `maxTokens` is cut to it.
 */
export function memoryOptions(given: unknown): MemoryOptions {
  const options = optionsObject<Record<string, unknown>>(
    'MemoryStore',
    given as Record<string, unknown> | undefined,
  );
  const maxTokensGiven = options.maxTokens;
  const maxTokens =
    maxTokensGiven === Number.POSITIVE_INFINITY
      ? MAX_TOKENS
      : integerOption('MemoryStore.maxTokens', maxTokensGiven, DEFAULT_MAX_TOKENS, 1, MAX_TOKENS);
  const initialCapacity = integerOption(
    'MemoryStore.initialCapacity',
    options.initialCapacity,
    DEFAULT_INITIAL_CAPACITY,
    0,
    MAX_TOKENS,
  );
  const scanBatch = integerOption(
    'MemoryStore.scanBatch',
    options.scanBatch,
    DEFAULT_SCAN_BATCH,
    1,
  );
  const whenFull = choiceOption('MemoryStore.whenFull', options.whenFull, 'untracked', WHEN_FULL);
  return {
    maxTokens,
    initialCapacity: Math.min(initialCapacity, maxTokens),
    scanBatch,
    whenFull,
  };
}
