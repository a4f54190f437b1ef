/*
 * The arithmetic every benchmark does across its rounds, in one place: a benchmark reports the
 * median of its rounds, how far the rounds spread, and peers compared round by round.
 */

/** The middle value (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The smallest and the largest value: how much the rounds disagree. */
export function spread(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * `mine[i] / theirs[i]` for each round i: two figures measured in the same round, minutes
 * apart at most, so a slow spell of a shared machine weighs on both.
 */
export function ratiosByRound(mine: readonly number[], theirs: readonly number[]): number[] {
  if (mine.length !== theirs.length) {
    throw new Error(`ratiosByRound: ${mine.length} rounds against ${theirs.length}`);
  }
  return mine.map((value, round) => value / theirs[round]!);
}
