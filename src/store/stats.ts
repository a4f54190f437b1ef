/**
 * How many times a metric was seen for a token in the last 1, 10 and 60 minutes. The field
 * names are the wire format (HTTP API, JSON output): keep them.
 *
 * Each rate is within 1/60 of its window of the exact count: see `./rates.ts`.
 */
export interface Stats {
  token_rate_1m: number;
  token_rate_10m: number;
  token_rate_60m: number;
}

/** A ban in force: which threshold holds the token, and until when (epoch ms). */
export interface Ban {
  threshold: number;
  until: number;
}

/** `Stats` plus the bans in force for that token and metric. */
export interface TokenStatus extends Stats {
  /** Epoch ms when the last ban in force ends, or `null` when the token is not blocked. */
  blocked_until: number | null;
  /** Every threshold that holds the token blocked, in threshold order. */
  bans: Ban[];
}

/** One row of `scan()`: a tracked token, one of its metrics, and its status. */
export interface StatusEntry {
  token: string;
  metric: string;
  status: TokenStatus;
}

/** Copies the three rate fields (dropping anything else, e.g. the bans of a `TokenStatus`). */
export function statsOf(source: Stats): Stats {
  return {
    token_rate_1m: source.token_rate_1m,
    token_rate_10m: source.token_rate_10m,
    token_rate_60m: source.token_rate_60m,
  };
}
