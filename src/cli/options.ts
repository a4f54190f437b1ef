import { InvalidArgumentError } from 'commander';

/*
 * Parsers for numeric CLI options. Each accepts `1_000_000` and `1e6` and refuses anything
 * else with a one-line message (commander prints it and the CLI exits 2), so a bad flag never
 * reaches the engines as NaN or a negative count.
 */

function parseNumber(value: string): number {
  const parsed = Number(value.replaceAll('_', ''));
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new InvalidArgumentError(`expected a number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** A parser for an integer option from `min` to `max`. */
export function integerArgument(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const parsed = parseNumber(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      const range = max >= Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected an integer ${range}, got ${value}`);
    }
    return parsed;
  };
}

/** A parser for a number option from `min` to `max`. */
export function numberArgument(min: number, max: number) {
  return (value: string): number => {
    const parsed = parseNumber(value);
    if (parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${value}`);
    }
    return parsed;
  };
}
