import type { SeriesBody } from './contract.js';

/**
 * The per-route hit-rate series the chart draws: at most `capacity` points, one per step,
 * in the column layout uPlot takes (`[times, ...one array per route]`, times in epoch seconds).
 *
 * The stream sends the full series once per connection and then one point per route per
 * snapshot; a reconnect re-fetches the full series. Every body is merged by its own time
 * axis (`start` + i × `step`): the window ends at the newest second any body reached and
 * reaches back `capacity` points, or to the oldest second delivered. So a full series that
 * arrives after a few single points (the fetch and the stream race) fills what it covers and
 * keeps what is newer, and a point sent twice counts once. A second that no body covered
 * (snapshots lost while the stream was down) is `null`, which uPlot draws as a gap: zero
 * would claim silence. A route first seen now had no hits before (the service lists every
 * route it knows), so the seconds already held are zero for it.
 *
 * A merge rebuilds the columns (capacity × routes numbers, a few thousand once a second):
 * simpler to get right than shifting rings, and nothing a browser notices.
 */
export class SeriesWindow {
  readonly capacity: number;
  /** Seconds between points; fixed by the first body, a different step starts over. */
  private step = 0;
  /** Epoch second of the first point held (meaningful while `length > 0`). */
  private first = 0;
  private length = 0;
  private columns = new Map<string, (number | null)[]>();
  private order: string[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Routes in the order of the data columns (alphabetical, so colours stay put across reconnects). */
  get routes(): readonly string[] {
    return this.order;
  }

  /** Points held per route. */
  get size(): number {
    return this.length;
  }

  /** Epoch second of the newest point, or undefined while empty. */
  get end(): number | undefined {
    return this.length === 0 ? undefined : this.first + (this.length - 1) * this.step;
  }

  clear(): void {
    this.columns = new Map();
    this.order = [];
    this.length = 0;
    this.step = 0;
  }

  /** Merges one body; true when the set of routes changed (the chart needs new series). */
  merge(body: SeriesBody): boolean {
    const step = Number.isInteger(body.step) && body.step > 0 ? body.step : 1;
    const start = Math.round(body.start / 1000);
    // A new step, or a body off the held grid (the service's clock jumped): start over.
    if (this.length > 0 && (step !== this.step || (start - this.first) % step !== 0)) this.clear();
    this.step = step;

    let points = 0;
    for (const route of body.routes) points = Math.max(points, route.points.length);
    const last = start + (points - 1) * step;
    const end = this.end;
    const newEnd = end === undefined ? last : Math.max(end, last);
    const oldest = end === undefined ? start : Math.min(this.first, start);
    const newFirst = Math.max(oldest, newEnd - (this.capacity - 1) * step);
    const newLength = points === 0 && end === undefined ? 0 : (newEnd - newFirst) / step + 1;

    const next = new Map<string, (number | null)[]>();
    let changed = false;
    const routes = new Set(this.columns.keys());
    for (const { route } of body.routes) {
      if (!routes.has(route)) changed = true;
      routes.add(route);
    }
    for (const route of routes) {
      const old = this.columns.get(route);
      const column = new Array<number | null>(newLength).fill(null);
      // The seconds already held: a known route keeps its values, a new one had no hits.
      for (let i = 0; i < this.length; i++) {
        const at = (this.first + i * step - newFirst) / step;
        if (at >= 0 && at < newLength) column[at] = old === undefined ? 0 : (old[i] ?? null);
      }
      next.set(route, column);
    }
    for (const route of body.routes) {
      const column = next.get(route.route)!;
      for (let i = 0; i < route.points.length; i++) {
        const at = (start + i * step - newFirst) / step;
        const value = route.points[i];
        if (at >= 0 && at < newLength && typeof value === 'number') column[at] = value;
      }
    }
    this.columns = next;
    this.first = newFirst;
    this.length = newLength;
    if (changed) this.order = [...next.keys()].sort();
    return changed;
  }

  /** `[times, ...columns]` for uPlot#setData; fresh arrays. */
  data(): [number[], ...(number | null)[][]] {
    const times: number[] = [];
    for (let i = 0; i < this.length; i++) times.push(this.first + i * this.step);
    return [times, ...this.order.map((route) => this.columns.get(route)!.slice())];
  }
}
