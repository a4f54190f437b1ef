import { readFileSync } from 'node:fs';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { BanHammer } from '../banhammer/ban-hammer.js';
import type { BansConfig } from '../banhammer/config.js';
import { FixedWindow } from '../counter/fixed-window.js';
import { HitCounter } from '../counter/hit-counter.js';
import { hitwarden } from '../http/fastify.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import { RedisStore } from '../store/redis/redis-store.js';
import type { Store } from '../store/store.js';
import { IpTracker } from '../tracker/ip-tracker.js';
import { registerAdmin } from './admin.js';
import { MAX_TOP, registerApi } from './api.js';
import { BansPager } from './bans-pages.js';
import { type ServiceContext, tokenRule } from './context.js';
import { DaysKept, dailyRollover } from './days.js';
import { registerDemoRoutes } from './demo-routes.js';
import { DemoTraffic, type DemoTrafficOptions } from './demo-traffic.js';
import { ServiceMetrics } from './metrics.js';
import { RequestError, sendError } from './replies.js';
import { SeriesRing } from './series.js';
import { ServiceState, saveable, serviceCounts } from './state.js';
import { registerStatic } from './static.js';
import { SnapshotStream } from './stream.js';
import { TripsRing } from './trips.js';

/*
 * `hitwarden serve`, as a value: a Fastify app with the project's own guard plugin in front
 * of the demo routes, and beside them (excluded from the guard by `skip`) the JSON API, the
 * admin API, /metrics, the live stream and the dashboard's files. The CLI (src/cli/serve.ts)
 * makes one from its options; tests make one on a free port.
 */

export interface ServiceOptions {
  /** The bans configuration (validated, e.g. from `loadBansFile`). */
  bans: BansConfig;
  /** A Redis URL: the BanHammer's store (else the embedded memory store). */
  redis?: string | undefined;
  /** A store of your own, instead of `redis` (tests). */
  store?: Store | undefined;
  /** Proxies whose X-Forwarded-For is believed (CIDR ranges). @default [] */
  trustProxy?: readonly string[] | undefined;
  /** The bearer token of the admin API; without one, /admin answers 403. */
  adminToken?: string | undefined;
  /** Synthetic traffic through the real request path (true, or its options). */
  demoTraffic?: boolean | DemoTrafficOptions | undefined;
  /** A pino logger (Fastify's), or false for none. @default false */
  logger?: FastifyBaseLogger | false | undefined;
  /** Where the dashboard's built files are. @default dist/web */
  webRoot?: string | undefined;
  /** Save the engines to this folder and restore them at start (see state.ts). */
  state?: { dir: string; saveEverySeconds: number } | undefined;
  /** With `state`: the tracker's daily rollover, at `time` (HH:MM) in `zone`, each closing
   *  day's top list kept in DIR/days (see days.ts). @default { time: '00:00', zone: 'UTC' } */
  rollover?: { time: string; zone: string } | undefined;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly context: ServiceContext;
  readonly metrics: ServiceMetrics;
  readonly demo: DemoTraffic | undefined;
  /** Listens; resolves the base URL (`http://127.0.0.1:8080`). */
  listen(port: number, host: string): Promise<string>;
  /** Stops the demo, ends the streams, lets requests in flight finish, closes the store. */
  close(): Promise<void>;
}

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** The span of the one-second hit counter (and of the series). */
const SHORT_SPAN_SECONDS = 3600;

/** Route keys of requests no route took, per method (the guard's `(unmatched)`). */
const UNMATCHED = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].map(
  (method) => `${method} (unmatched)`,
);

/** Paths the guard leaves alone: the operator's and the dashboard's, never locked out. */
export function unguardedPath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return (
    path === '/' ||
    path === '/metrics' ||
    path === '/api' ||
    path.startsWith('/api/') ||
    path === '/admin' ||
    path.startsWith('/admin/') ||
    path.startsWith('/assets/')
  );
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const clock = Date.now;
  const redis =
    options.store === undefined && options.redis !== undefined
      ? new RedisStore({ url: options.redis })
      : undefined;
  const logger =
    options.logger === undefined || options.logger === false ? undefined : options.logger;
  const state =
    options.state === undefined ? undefined : new ServiceState(options.state.dir, logger);
  await state?.open();
  // With --state on the memory store, the store is made here so that its saved state is
  // loaded before the BanHammer opens it.
  const memory =
    state !== undefined && options.store === undefined && redis === undefined
      ? new MemoryStore()
      : undefined;
  const store = options.store ?? redis ?? memory;
  if (memory !== undefined) {
    // Copied a slice per turn of the event loop, so a save never holds up requests for the
    // whole store (1M pairs take about 0.2 s in one go).
    await state!.restore(
      saveable('store', {
        exportState: () => memory.exportStateInSlices(),
        loadState: (image) => memory.loadState(image),
      }),
    );
  }
  const banHammer = new BanHammer<boolean>(options.bans, store === undefined ? {} : { store });
  const report = memory?.restoreReport;
  if (
    report !== undefined &&
    (report.droppedMetrics.length > 0 || report.changedMetrics.length > 0)
  ) {
    logger?.warn(
      {
        dropped: report.droppedMetrics,
        changed: report.changedMetrics,
        droppedPairs: report.droppedPairs,
      },
      'the saved store had metrics this bans config drops or changes',
    );
  }
  const rollover =
    state === undefined
      ? undefined
      : dailyRollover(options.rollover?.time ?? '00:00', options.rollover?.zone ?? 'UTC', clock());
  const days = rollover === undefined ? undefined : new DaysKept(state!.dir, rollover.zoneMinutes);
  const tracker = new IpTracker({
    topN: MAX_TOP,
    ...(rollover === undefined
      ? {}
      : {
          rollover: {
            periodSeconds: rollover.periodSeconds,
            offsetSeconds: rollover.offsetSeconds,
          },
        }),
  });
  let trackerRequests = 0;
  tracker.observe({
    countedV4: () => {
      trackerRequests++;
    },
    countedV6: () => {
      trackerRequests++;
    },
    cleared: () => {
      trackerRequests = 0;
    },
  });
  // One-second buckets for an hour: the series reads each second exactly (series.ts); minute
  // buckets for a day behind them, for /api/rates' long spans. 14 kB + 6 kB per route.
  const counter = new HitCounter({
    strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: SHORT_SPAN_SECONDS }),
    maxKeys: 1000,
  });
  const longCounter = new HitCounter({
    strategy: new FixedWindow({ windowSeconds: 60, maxWindowSeconds: 86_400 }),
    maxKeys: 1000,
  });
  const guardedRoutes = new Set<string>();
  const routes = () => [...guardedRoutes, ...UNMATCHED];
  const series = new SeriesRing(counter, routes, SHORT_SPAN_SECONDS, longCounter);
  const trips = new TripsRing();
  const bans = new BansPager(banHammer, clock);
  if (state !== undefined) {
    await state.restore(saveable('tracker', tracker));
    await state.restore(
      serviceCounts(
        () => trackerRequests,
        (requests) => {
          trackerRequests = requests;
        },
      ),
    );
    await state.restore(saveable('counter', counter));
    await state.restore(saveable('long-counter', longCounter));
    // On Redis the bans live in Redis, and the deny cache is refilled from it.
    if (memory !== undefined) await state.restore(saveable('deny-cache', banHammer.denyCache));
    state.saveEvery(options.state!.saveEverySeconds);
  }

  const context: ServiceContext = {
    banHammer,
    tracker,
    counter,
    longCounter,
    series,
    trips,
    bans,
    store: options.store === undefined && redis === undefined ? 'memory' : 'redis',
    demo: options.demoTraffic !== undefined && options.demoTraffic !== false,
    version,
    admin: options.adminToken !== undefined,
    clock,
    routes,
    trackerRequests: () => trackerRequests,
    tokenOf: tokenRule(),
    days,
  };

  let activeBans: { at: number; counts: Promise<Map<string, number>> } | undefined;
  const app = Fastify({
    ...(logger === undefined ? { logger: false } : { loggerInstance: logger }),
    // One line per request would be a hundred a second with the demo on: the service logs
    // bans, admin actions and failures instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
  });
  const stream = new SnapshotStream(context);
  const metrics = new ServiceMetrics({
    banHammer,
    tracker,
    counter,
    guard: () => app.hitwarden as never,
    redis,
    trackerRequests: () => trackerRequests,
    activeBans: () => {
      const now = clock();
      if (activeBans === undefined || now - activeBans.at > 1000) {
        activeBans = { at: now, counts: bans.countByMetric() };
      }
      return activeBans.counts;
    },
    streamClients: () => stream.clients,
    state,
  });

  banHammer.on('tripped', (event) => {
    trips.record(event, clock());
    logger?.info(
      {
        token: event.token,
        metric: event.metric,
        threshold: event.threshold,
        duration: event.duration,
        shadow: event.shadow,
        manual: event.manual,
      },
      event.shadow ? 'shadow threshold tripped' : 'ban started',
    );
  });
  banHammer.on('action_error', (event) => {
    logger?.warn(
      { metric: event.metric, action: event.action, reason: event.reason },
      'action failed',
    );
  });
  redis?.on('store_error', (event) => {
    logger?.warn({ operation: event.operation, err: event.error.message }, 'Redis store error');
  });

  app.addHook('onRoute', (route) => {
    if (unguardedPath(route.url)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) guardedRoutes.add(`${method} ${route.url}`);
  });

  const metricNames = new Set(banHammer.metrics);
  const afterLogin = (status: number): string | null => {
    if (status === 401 && metricNames.has('login_failed')) return 'login_failed';
    if (status === 200 && metricNames.has('login_successful')) return 'login_successful';
    return null;
  };
  await app.register(hitwarden, {
    banHammer,
    tracker,
    counter,
    trustProxy: options.trustProxy ?? [],
    metric: metricNames.has('request') ? 'request' : null,
    countAfter: (request: FastifyRequest, reply) =>
      request.method === 'POST' && request.routeOptions.url === '/login'
        ? afterLogin(reply.statusCode)
        : null,
    skip: (request: FastifyRequest) => unguardedPath(request.url),
    onVerdict: metrics.onVerdict,
    onError: (error: unknown) => logger?.warn({ err: error }, 'guard error'),
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof RequestError) return sendError(reply, error.code, error.message);
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own: a body that is not JSON, too large, of a type it cannot parse.
      if (status === 404) return sendError(reply, 'not_found', error.message);
      if (status === 413) {
        return reply.code(413).send({ error: 'bad_request', message: error.message });
      }
      return sendError(reply, 'bad_request', error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  registerDemoRoutes(app);
  registerApi(app, context);
  stream.register(app);
  const reset = async () => {
    const tokens = new Set<string>();
    for await (const entry of banHammer.scan()) tokens.add(entry.token);
    for (const token of tokens) await banHammer.lift(token);
    tracker.clear();
    for (const c of [counter, longCounter]) {
      c.restore({ ...c.snapshot(), keys: [], totalHits: 0, prunedEvents: 0 });
    }
    series.clear();
    trips.clear();
    activeBans = undefined;
  };
  registerAdmin(app, context, options.adminToken, reset);
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.text();
  });
  registerStatic(app, options.webRoot);

  // Once a second, just after the second ends: a point of the series, a snapshot to the stream.
  let ticker: NodeJS.Timeout | undefined;
  const schedule = () => {
    ticker = setTimeout(
      () => {
        series.sample(clock());
        stream.tick().catch((error: unknown) => logger?.warn({ err: error }, 'stream tick'));
        days
          ?.record(tracker.previous)
          .then((day) => {
            if (day !== undefined) logger?.info({ day }, 'day kept');
          })
          .catch((error: unknown) => logger?.error({ err: error }, 'could not keep the day'));
        schedule();
      },
      1020 - (clock() % 1000),
    );
    ticker.unref();
  };
  schedule();

  const demo =
    context.demo === true
      ? new DemoTraffic(app, typeof options.demoTraffic === 'object' ? options.demoTraffic : {})
      : undefined;
  app.addHook('preClose', async () => {
    await demo?.stop();
    stream.endAll();
  });
  app.addHook('onClose', async () => {
    if (ticker !== undefined) clearTimeout(ticker);
    ticker = undefined;
    bans.closeAll();
    // The last save, after the last request and before the store closes.
    await state?.close();
    await banHammer.close();
  });
  await app.ready();
  demo?.start();

  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    metrics,
    demo,
    async listen(port, host) {
      await app.listen({ port, host });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      const shown = host.includes(':') ? `[${host}]` : host;
      return `http://${shown}:${bound}`;
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
