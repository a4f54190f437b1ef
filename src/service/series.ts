import type { HitCounter } from '../counter/hit-counter.js';

/*
 * The per-route hit rate the dashboard charts: one point per second (the hits of that
 * second), the last `capacity` seconds, kept in one ring per route. `sample` runs once a
 * second, just after a second has ended, and reads that second from the hit counter, whose
 * buckets are one second wide and epoch-aligned: at `now` inside second k, query(route, 1)
 * sums buckets k−1 and k, query(route, 0) bucket k alone, so their difference is exactly
 * second k−1. Routes appear from their first hit on.
 *
 * The hit counter's one-second buckets reach back an hour (a bucket count is below 65536);
 * for the longer spans of /api/rates each sampled second is also recorded into `long`, a
 * counter of minute buckets that reaches back a day.
 */

export interface SeriesBody {
  time: number;
  step: 1;
  /** Epoch ms of the first point's second. */
  start: number;
  routes: { route: string; points: number[] }[];
}

export class SeriesRing {
  readonly capacity: number;
  readonly #counter: HitCounter;
  readonly #routes: () => Iterable<string>;
  readonly #rings = new Map<string, Uint32Array>();
  readonly #long: HitCounter | undefined;
  /** Epoch second of the newest point (−1: no sample yet). */
  #newest = -1;

  /** `routes()` lists the route keys the counter may hold (the app's routes). */
  constructor(
    counter: HitCounter,
    routes: () => Iterable<string>,
    capacity = 3600,
    long?: HitCounter,
  ) {
    this.#counter = counter;
    this.#long = long;
    this.#routes = routes;
    this.capacity = capacity;
  }

  /** Records the second before the one `now` falls in (and zeros for any seconds skipped). */
  sample(now: number): void {
    const second = Math.floor(now / 1000) - 1;
    if (second <= this.#newest) return;
    const skipped = this.#newest < 0 ? 0 : Math.min(this.capacity, second - this.#newest - 1);
    for (const route of this.#routes()) {
      const hits = this.#counter.query(route, 1) - this.#counter.query(route, 0);
      if (this.#long !== undefined) {
        for (let i = 0; i < hits; i++) this.#long.record(route, second * 1000);
      }
      let ring = this.#rings.get(route);
      if (ring === undefined) {
        if (hits === 0) continue;
        ring = new Uint32Array(this.capacity);
        this.#rings.set(route, ring);
      }
      for (let s = second - skipped; s < second; s++) ring[s % this.capacity] = 0;
      ring[second % this.capacity] = hits;
    }
    // Rings of routes not listed this time still advance.
    this.#newest = second;
  }

  /** The last `seconds` points of every route (or only `route`), oldest first. */
  body(now: number, seconds: number, route?: string): SeriesBody {
    const newest = this.#newest < 0 ? Math.floor(now / 1000) - 1 : this.#newest;
    const count = Math.min(seconds, this.capacity);
    const first = newest - count + 1;
    const routes: SeriesBody['routes'] = [];
    for (const [name, ring] of this.#rings) {
      if (route !== undefined && name !== route) continue;
      const points = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        const s = first + i;
        points[i] = s < 0 ? 0 : ring[s % this.capacity]!;
      }
      routes.push({ route: name, points });
    }
    routes.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
    return { time: now, step: 1, start: first * 1000, routes };
  }

  /** Forgets every point (admin reset). */
  clear(): void {
    this.#rings.clear();
  }
}
