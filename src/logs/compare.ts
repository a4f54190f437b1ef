import type { ReplayReport } from './analysis.js';
import type { Trip } from './replay.js';

/*
 * `--compare`: two bans files replayed on the same lines, and who each bans that the other
 * does not — the "what changes if I deploy this" answer. A token counts as banned by a file
 * when one of its enforcing thresholds tripped for it (a shadow threshold bans nobody);
 * each difference is shown at the token's first ban.
 */

/** A token one file bans and the other does not. */
export interface BanDifference {
  readonly token: string;
  /** Epoch ms of the token's first ban under the file that bans it. */
  readonly time: number;
  readonly metric: string;
  readonly threshold: number;
}

export interface Comparison {
  readonly first: string;
  readonly second: string;
  /** Banned by the first file only, by time of the first ban. */
  readonly onlyFirst: readonly BanDifference[];
  readonly onlySecond: readonly BanDifference[];
  /** Tokens both ban. */
  readonly both: number;
}

function firstBans(trips: readonly Trip[]): Map<string, Trip> {
  const bans = new Map<string, Trip>();
  for (const trip of trips) if (!trip.shadow && !bans.has(trip.token)) bans.set(trip.token, trip);
  return bans;
}

function only(bans: Map<string, Trip>, other: Map<string, Trip>): BanDifference[] {
  const differences: BanDifference[] = [];
  for (const [token, trip] of bans) {
    if (!other.has(token)) {
      differences.push({ token, time: trip.time, metric: trip.metric, threshold: trip.threshold });
    }
  }
  return differences;
}

export function compareReplays(first: ReplayReport, second: ReplayReport): Comparison {
  const a = firstBans(first.trips);
  const b = firstBans(second.trips);
  let both = 0;
  for (const token of a.keys()) if (b.has(token)) both++;
  return {
    first: first.file,
    second: second.file,
    onlyFirst: only(a, b),
    onlySecond: only(b, a),
    both,
  };
}
