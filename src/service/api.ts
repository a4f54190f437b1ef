import type { FastifyInstance } from 'fastify';
import type { BanHammer } from '../banhammer/ban-hammer.js';
import { ConfigError } from '../errors.js';
import type { TokenStatus } from '../store/stats.js';
import type { ServiceContext } from './context.js';
import { integerParam, RequestError, tokenParam } from './replies.js';
import type { SeriesBody } from './series.js';
import type { TripRow } from './trips.js';

/*
 * The read-only JSON API under /api (no token; the service binds to the host it is given).
 * Bodies are built by the functions below so that the stream (stream.ts) sends exactly what
 * these routes answer.
 */

export interface TopBody {
  time: number;
  total: number;
  size: number;
  rows: { ip: string; count: number; share: number; banned: boolean }[];
}

export const MAX_TOP = 1000;
const MAX_WINDOW_SECONDS = 86_400;
const DEFAULT_WINDOWS = [60, 600, 3600];

export async function topBody(ctx: ServiceContext, n: number): Promise<TopBody> {
  const time = ctx.clock();
  const total = ctx.trackerRequests();
  const top = ctx.tracker.top(Math.min(n, ctx.tracker.topN));
  const { banHammer } = ctx;
  const rows = await Promise.all(
    top.map(async ({ ip, count }) => {
      const token = ctx.tokenOf(ip);
      // A lookup (metric null): counts nothing. The memory store answers at once.
      const verdict = banHammer.decideSync(token, null) ?? (await banHammer.decide(token, null));
      return { ip, count, share: total === 0 ? 0 : count / total, banned: !verdict.allowed };
    }),
  );
  return { time, total, size: ctx.tracker.size, rows };
}

export function seriesBody(ctx: ServiceContext, seconds: number, route?: string): SeriesBody {
  return ctx.series.body(ctx.clock(), seconds, route);
}

export function tripsBody(ctx: ServiceContext, limit: number): { trips: TripRow[] } {
  return { trips: ctx.trips.recent(limit) };
}

export interface StatusBody {
  token: string;
  banned: boolean;
  retry_after_ms: number;
  metrics: Record<string, TokenStatus>;
}

/** GET /api/status/:token (also what `hitwarden status --redis` prints). */
export async function statusBody(
  banHammer: BanHammer<boolean>,
  token: string,
): Promise<StatusBody> {
  const verdict = banHammer.decideSync(token, null) ?? (await banHammer.decide(token, null));
  const metrics: Record<string, TokenStatus> = Object.create(null);
  for (const metric of banHammer.metrics) {
    const status = await banHammer.status(token, metric);
    metrics[metric] = {
      token_rate_1m: status.token_rate_1m,
      token_rate_10m: status.token_rate_10m,
      token_rate_60m: status.token_rate_60m,
      blocked_until: status.blocked_until,
      bans: status.bans,
    };
  }
  return { token, banned: !verdict.allowed, retry_after_ms: verdict.retryAfterMs, metrics };
}

/** `/api/top?day=YYYY-MM-DD`: a day kept at a rollover (--state only). */
async function keptDay(ctx: ServiceContext, day: unknown): Promise<unknown> {
  if (typeof day !== 'string') throw new RequestError('bad_request', 'day must be given once');
  if (ctx.days === undefined) {
    throw new RequestError('not_found', 'days are kept only when the service runs with --state');
  }
  let kept: unknown;
  try {
    kept = await ctx.days.read(day);
  } catch (error) {
    if (error instanceof ConfigError) throw new RequestError('bad_request', error.message);
    throw error;
  }
  if (kept === undefined) throw new RequestError('not_found', `no day ${day} kept`);
  return kept;
}

export function registerApi(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/api/top', async (request) => {
    const query = request.query as Record<string, unknown>;
    if (query.day !== undefined) return keptDay(ctx, query.day);
    return topBody(ctx, integerParam('n', query.n, 1, MAX_TOP, 100));
  });

  app.get('/api/days', async () => ({
    kept: ctx.days !== undefined,
    days: ctx.days === undefined ? [] : await ctx.days.list(),
  }));

  app.get('/api/rates', async (request) => {
    const query = request.query as Record<string, unknown>;
    const windows = windowsParam(query.windows);
    const route = query.route;
    if (route !== undefined && typeof route !== 'string') {
      throw new RequestError('bad_request', 'route must be given once');
    }
    const names = route === undefined ? [...ctx.routes()] : [route];
    const routes: { route: string; counts: number[] }[] = [];
    for (const name of names) {
      const counts = windows.map((window) =>
        window <= ctx.counter.strategy.maxWindowSeconds
          ? ctx.counter.query(name, window)
          : ctx.longCounter.query(name, window),
      );
      // A route asked for by name always; of all routes, the application's, and the HEAD
      // twins and (unmatched) catch-alls only once they have hits.
      const quiet = name.endsWith('(unmatched)') || name.startsWith('HEAD ');
      if (route !== undefined || !quiet || counts.some((c) => c > 0)) {
        routes.push({ route: name, counts });
      }
    }
    routes.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
    return { time: ctx.clock(), windows, routes };
  });

  app.get('/api/series', async (request) => {
    const query = request.query as Record<string, unknown>;
    const seconds = integerParam('seconds', query.seconds, 1, ctx.series.capacity, 300);
    const route = typeof query.route === 'string' ? query.route : undefined;
    return seriesBody(ctx, seconds, route);
  });

  app.get('/api/status/:token', async (request) =>
    statusBody(ctx.banHammer, tokenParam('token', (request.params as { token: unknown }).token)),
  );

  app.get('/api/bans', async (request) => {
    const query = request.query as Record<string, unknown>;
    const limit = integerParam('limit', query.limit, 1, 1000, 100);
    const cursor = query.cursor;
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new RequestError('bad_request', 'cursor must be given once');
    }
    return ctx.bans.page(cursor, limit);
  });

  app.get('/api/trips', async (request) => {
    const query = request.query as Record<string, unknown>;
    return tripsBody(ctx, integerParam('limit', query.limit, 1, ctx.trips.capacity, 50));
  });

  app.get('/api/config', async () => {
    const metrics: Record<string, unknown[]> = {};
    for (const metric of ctx.banHammer.metrics) {
      metrics[metric] = ctx.banHammer.thresholds(metric)!.map((threshold) => ({
        limit: threshold.limit,
        window: threshold.windowSeconds,
        duration: threshold.durationSeconds,
        mode: threshold.shadow ? 'shadow' : 'enforce',
      }));
    }
    return {
      metrics,
      admin: ctx.admin,
      store: ctx.store,
      demo: ctx.demo,
      version: ctx.version,
    };
  });
}

function windowsParam(value: unknown): number[] {
  if (value === undefined || value === '') return DEFAULT_WINDOWS;
  if (typeof value !== 'string')
    throw new RequestError('bad_request', 'windows must be given once');
  const parts = value.split(',');
  if (parts.length > 16) throw new RequestError('bad_request', 'windows: at most 16 spans');
  return parts.map((part) => integerParam('windows', part.trim(), 1, MAX_WINDOW_SECONDS, 0));
}
