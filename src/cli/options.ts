import { InvalidArgumentError } from 'commander';

/** Parses a numeric CLI option, accepting `1_000_000` and `1e6`; rejects anything else. */
export function parseNumberOption(value: string): number {
  const parsed = Number(value.replaceAll('_', ''));
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new InvalidArgumentError(`expected a number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
