import { ConfigError, quoteInput } from '../errors.js';
import { numberOption } from '../options.js';
import type { CountingStrategy, StrategyState } from './strategy.js';

/*
 * A strategy may be written by a user, so the counter checks what it is handed before relying
 * on it: a value that is not a CountingStrategy, or a state missing a method, is a ConfigError
 * naming where it came from, never a TypeError deep inside a later `record`.
 */

export interface StrategySpans {
  maxWindowSeconds: number;
  retentionSeconds: number;
}

const STATE_METHODS = ['resize', 'record', 'query', 'clear', 'save', 'load'] as const;
const OPTIONAL_STATE_METHODS = ['clampTo', 'replay'] as const;

/** Checks that `strategy` is a CountingStrategy; returns its spans as read once. */
export function checkStrategy(path: string, strategy: unknown): StrategySpans {
  const shape =
    'must be a CountingStrategy (kind, params of finite numbers, maxWindowSeconds, retentionSeconds, create())';
  if (typeof strategy !== 'object' || strategy === null) {
    throw new ConfigError(path, `${shape}, got ${quoteInput(strategy)}`);
  }
  const candidate = strategy as Partial<Record<keyof CountingStrategy, unknown>>;
  if (typeof candidate.kind !== 'string' || typeof candidate.create !== 'function') {
    throw new ConfigError(path, shape);
  }
  const params = candidate.params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ConfigError(`${path}.params`, `must be an object, got ${quoteInput(params)}`);
  }
  for (const [name, value] of Object.entries(params)) {
    numberOption(`${path}.params.${name}`, value, 0);
  }
  const maxWindowSeconds = numberOption(
    `${path}.maxWindowSeconds`,
    candidate.maxWindowSeconds ?? Number.NaN,
    0,
    { above: 0, unit: 'seconds' },
  );
  const retentionSeconds = numberOption(
    `${path}.retentionSeconds`,
    candidate.retentionSeconds ?? Number.NaN,
    0,
    { min: maxWindowSeconds, unit: 'seconds' },
  );
  return { maxWindowSeconds, retentionSeconds };
}

/** `strategy.create()`, checked to have every method the counter calls. */
export function createState(path: string, strategy: CountingStrategy): StrategyState {
  const state: unknown = strategy.create();
  if (typeof state !== 'object' || state === null) {
    throw new ConfigError(
      `${path}.create()`,
      `must return a StrategyState, got ${quoteInput(state)}`,
    );
  }
  const methods = state as Record<string, unknown>;
  for (const name of STATE_METHODS) {
    if (typeof methods[name] !== 'function') {
      throw new ConfigError(`${path}.create()`, `returned a state without a ${name}() method`);
    }
  }
  for (const name of OPTIONAL_STATE_METHODS) {
    if (methods[name] !== undefined && typeof methods[name] !== 'function') {
      throw new ConfigError(`${path}.create()`, `returned a state whose ${name} is not a method`);
    }
  }
  return state as StrategyState;
}

type StrategyShape = Pick<CountingStrategy, 'kind' | 'params'>;

/** Whether two strategies' states are interchangeable: same kind, equal params. */
export function sameStrategy(a: StrategyShape, b: StrategyShape): boolean {
  if (a.kind !== b.kind) return false;
  const names = Object.keys(a.params);
  if (names.length !== Object.keys(b.params).length) return false;
  return names.every((name) => Object.is(a.params[name], b.params[name]));
}

/** `kind { name: value, … }`, for messages. */
export function describe(strategy: StrategyShape): string {
  const params = Object.entries(strategy.params)
    .map(([name, value]) => `${name}: ${quoteInput(value)}`)
    .join(', ');
  return `${strategy.kind} { ${params} }`;
}
