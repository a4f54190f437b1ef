/*
 * The bodies of the service's JSON API and SSE stream, as /work/wt/service-contract.md (and
 * docs/service-api.md) define them. The dashboard reads only the fields named here; the
 * service may add fields, never rename or remove these, so extra fields are simply ignored.
 */

export interface TopRow {
  ip: string;
  count: number;
  share: number;
  banned: boolean;
}

export interface TopBody {
  time: number;
  total: number;
  size: number;
  rows: TopRow[];
}

/** `/api/days`: the days kept at rollovers (with --state), newest first. */
export interface DaysBody {
  kept: boolean;
  days: string[];
}

/** `/api/top?day=`: one kept day. */
export interface DayBody {
  day: string;
  start: string;
  end: string;
  addresses: number;
  top: { ip: string; count: number }[];
}

export interface SeriesRoute {
  route: string;
  /** Hits per second, oldest first; `points[i]` is the second starting at `start + i * step * 1000`. */
  points: number[];
}

export interface SeriesBody {
  time: number;
  /** Seconds between points (1). */
  step: number;
  /** Epoch ms of `points[0]`. */
  start: number;
  routes: SeriesRoute[];
}

export interface Ban {
  token: string;
  metric: string;
  threshold: number;
  until: number;
  remaining_ms: number;
}

export interface BansBody {
  bans: Ban[];
  next: string | null;
}

export interface Trip {
  time: number;
  token: string;
  metric: string;
  threshold: number;
  shadow: boolean;
  manual: boolean;
  /** Seconds the ban lasts. */
  duration: number;
}

export interface TripsBody {
  trips: Trip[];
}

export interface Threshold {
  limit: number;
  /** Seconds. */
  window: number;
  /** Seconds. */
  duration: number;
  mode: 'enforce' | 'shadow';
}

export interface ConfigBody {
  metrics: Record<string, Threshold[]>;
  admin: boolean;
  store: 'memory' | 'redis';
  demo: boolean;
  version: string;
}

/** One `event: snapshot` of /api/stream. */
export interface Snapshot {
  time: number;
  top: TopBody;
  /** The full series in the first snapshot of a connection, then the newest point per route. */
  series: SeriesBody;
  bans: BansBody;
  /** Trips since the previous snapshot. */
  trips: Trip[];
}

/** `{ error, message }`, every error the service answers. */
export interface ErrorBody {
  error: string;
  message: string;
}
