import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { seriesBody, topBody } from './api.js';
import type { ServiceContext } from './context.js';

/*
 * GET /api/stream: Server-Sent Events for the dashboard. `retry: 2000` first (a browser whose
 * stream drops reconnects after 2 s), then a `snapshot` event about once a second: the top
 * 100, the newest point of every route's series (the full 300 points in a client's first
 * event), the first page of bans, and the trips since the previous snapshot. One snapshot is
 * built per tick and written to every client, so ten open pages cost one build, not ten.
 * A `: keep-alive` comment every 15 s keeps proxies from closing an idle stream.
 */

const SERIES_SECONDS = 300;
const KEEP_ALIVE_MS = 15_000;

interface Client {
  readonly res: ServerResponse;
  /** Sent its first (full) snapshot. */
  primed: boolean;
}

export class SnapshotStream {
  readonly #ctx: ServiceContext;
  readonly #clients = new Set<Client>();
  /** Trips numbered from here on are news to the next tick. */
  #tripsSent = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #building = false;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
    this.#tripsSent = ctx.trips.count;
  }

  get clients(): number {
    return this.#clients.size;
  }

  register(app: FastifyInstance): void {
    app.get('/api/stream', (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      const client: Client = { res, primed: false };
      this.#clients.add(client);
      request.raw.on('close', () => this.#clients.delete(client));
      this.#startKeepAlive();
      // The first snapshot at once, not at the next tick: a page fills as soon as it opens.
      this.#prime(client).catch((error: unknown) => request.log.warn({ err: error }, 'stream'));
    });
  }

  /** Builds this second's snapshot and sends it to every client (the ticker calls it). */
  async tick(): Promise<void> {
    if (this.#clients.size === 0 || this.#building) {
      this.#tripsSent = this.#ctx.trips.count;
      return;
    }
    this.#building = true;
    try {
      const ctx = this.#ctx;
      const trips = ctx.trips.since(this.#tripsSent);
      this.#tripsSent = ctx.trips.count;
      const [top, bans] = await Promise.all([topBody(ctx, 100), ctx.bans.page(undefined, 100)]);
      const series = seriesBody(ctx, SERIES_SECONDS);
      const full = { time: ctx.clock(), top, series, bans, trips };
      let fullEvent: string | undefined;
      const newest = {
        ...series,
        start: series.start + (SERIES_SECONDS - 1) * 1000,
        routes: series.routes.map(({ route, points }) => ({ route, points: points.slice(-1) })),
      };
      const event = eventOf({ ...full, series: newest });
      for (const client of this.#clients) {
        if (client.primed) {
          client.res.write(event);
        } else {
          fullEvent ??= eventOf(full);
          client.res.write(fullEvent);
          client.primed = true;
        }
      }
    } finally {
      this.#building = false;
    }
  }

  /** Ends every stream (the service is closing). */
  endAll(): void {
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  async #prime(client: Client): Promise<void> {
    const ctx = this.#ctx;
    const [top, bans] = await Promise.all([topBody(ctx, 100), ctx.bans.page(undefined, 100)]);
    if (client.primed || !this.#clients.has(client)) return;
    const series = seriesBody(ctx, SERIES_SECONDS);
    client.res.write(
      eventOf({ time: ctx.clock(), top, series, bans, trips: ctx.trips.recent(50) }),
    );
    client.primed = true;
  }

  #startKeepAlive(): void {
    if (this.#keepAlive !== undefined) return;
    this.#keepAlive = setInterval(() => {
      for (const client of this.#clients) client.res.write(': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    this.#keepAlive.unref();
  }
}

function eventOf(data: unknown): string {
  return `event: snapshot\ndata: ${JSON.stringify(data)}\n\n`;
}
