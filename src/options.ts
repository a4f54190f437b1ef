import { ConfigError, HitwardenError, quoteInput } from './errors.js';

/*
 * One way to read an option a user sets, for every public constructor and factory: a value of
 * the wrong type, NaN, ±Infinity, a fraction where a count is meant or a number out of range is
 * refused at setup with a `ConfigError` whose `path` names the option as `Component.option`
 * (`BanHammer.actionTimeoutMs`, `IpTracker.rollover.offsetSeconds`, `reportCentral.url`).
 * Nothing is coerced: `'5'` is not 5.
 */

/** Longest delay Node's timers can wait: a larger one fires after about 1 ms (with a
 *  warning), so every timeout option stops here. About 24.8 days. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** An integer option from `min` to `max`; `fallback` when it is `undefined`. */
export function integerOption(
  path: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(path, `must be ${integerRange(min, max)}, got ${quoteInput(value)}`);
  }
  return value;
}

export interface NumberRange {
  /** Smallest value allowed. */
  min?: number;
  /** Values must be greater than this (for "more than 0"). */
  above?: number;
  max?: number;
  /** Said after the number in the message, e.g. `seconds`. */
  unit?: string;
}

/** A finite number option within `range`; `fallback` when it is `undefined`. */
export function numberOption(
  path: string,
  value: unknown,
  fallback: number,
  range: NumberRange = {},
): number {
  if (value === undefined) return fallback;
  const { min = -Number.MAX_VALUE, above, max = Number.MAX_VALUE } = range;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (above !== undefined && !(value > above))
  ) {
    throw new ConfigError(path, `must be ${numberRange(range)}, got ${quoteInput(value)}`);
  }
  return value;
}

/** A timeout in milliseconds, from 1 to `MAX_TIMEOUT_MS`; `fallback` when `undefined`. */
export function timeoutMsOption(path: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_TIMEOUT_MS
  ) {
    throw new ConfigError(
      path,
      `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (the longest a Node timer waits), got ${quoteInput(value)}`,
    );
  }
  return value;
}

export function booleanOption(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ConfigError(path, `must be true or false, got ${quoteInput(value)}`);
  }
  return value;
}

/** A function option (a clock, a callback); `what` says what it must do. */
export function functionOption<F extends (...args: never[]) => unknown>(
  path: string,
  value: unknown,
  fallback: F,
  what: string,
): F {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw new ConfigError(path, `must be a function ${what}, got ${quoteInput(value)}`);
  }
  return value as F;
}

/**
 * The options object of `component`: `{}` when `undefined`, refused when not an object. Read
 * the options through what it returns: a getter or a Proxy that throws while an option is
 * read becomes a `ConfigError` naming that option (`Component.option`), the way every other
 * wrong option does, instead of the getter's own error escaping the constructor.
 */
export function optionsObject<T extends object>(component: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  let isArray: boolean;
  try {
    isArray = Array.isArray(value);
  } catch (error) {
    // A revoked Proxy.
    throw new ConfigError(component, 'options could not be read', { cause: error });
  }
  if (value === null || typeof value !== 'object' || isArray) {
    throw new ConfigError(component, `options must be an object, got ${quoteInput(value)}`);
  }
  return new Proxy(value, {
    get(target, key, receiver) {
      try {
        return Reflect.get(target, key, receiver);
      } catch (error) {
        throw new ConfigError(`${component}.${String(key)}`, 'reading it threw', {
          cause: error,
        });
      }
    },
  });
}

/** One of `choices`; `fallback` when `undefined`. */
export function choiceOption<T extends string>(
  path: string,
  value: unknown,
  fallback: T,
  choices: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    const listed = choices.map((choice) => `'${choice}'`).join(' or ');
    throw new ConfigError(path, `must be ${listed}, got ${quoteInput(value)}`);
  }
  return value as T;
}

/**
 * `read()`, where reading a user's object may run their code (a getter, a Proxy, a method):
 * anything it throws that is not already a hitwarden error becomes a `ConfigError` at `path`.
 */
export function readOption<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof HitwardenError) throw error;
    throw new ConfigError(path, 'could not be read: reading it threw', { cause: error });
  }
}

function integerRange(min: number, max: number): string {
  if (max >= Number.MAX_SAFE_INTEGER) return `an integer ≥ ${min}`;
  return `an integer from ${min} to ${max}`;
}

function numberRange({ min, above, max, unit }: NumberRange): string {
  const parts: string[] = [];
  if (min !== undefined) parts.push(`≥ ${min}`);
  if (above !== undefined) parts.push(`> ${above}`);
  if (max !== undefined) parts.push(`≤ ${max}`);
  const of = unit === undefined ? '' : ` of ${unit}`;
  return `a finite number${of}${parts.length > 0 ? ` ${parts.join(' and ')}` : ''}`;
}
