import { mix32 } from '../tables/mix.js';

/*
 * The routes of a log (method + path, no query string), each with its hit count and its peak
 * over each chosen window. A route is looked up by its range in the chunk's text, hashed and
 * compared in place, so a line costs no substring; a string is made once per new route.
 *
 * The peak over a window of W ms is the most hits in any span (t − W, t]. Per route the hits
 * are kept as (time, count) runs, one per distinct millisecond with hits (a second, for the
 * access-log formats), for as long as the widest window needs them; each window holds a
 * cursor into the runs and its running sum, so a hit costs O(1) amortised per window.
 * Times must not go backwards; the analysis feeds the log's clock, which never does.
 */

/** Routes kept at most by default; further new routes are counted under `OTHER_ROUTE`. */
export const DEFAULT_MAX_ROUTES = 100_000;
/** Where routes past the limit are counted. */
export const OTHER_ROUTE = '(other routes)';

/** One route's counts. */
export class RouteStats {
  /** The route's bytes as latin1 text (one character per byte), as it is looked up. */
  readonly key: string;
  /** The method, and the path without its query string, decoded as UTF-8. */
  readonly method: string;
  readonly path: string;
  hits = 0;
  /** Most hits within each window, in the order of the table's windows. */
  readonly peaks: Float64Array;
  readonly #sums: Float64Array;
  readonly #heads: Int32Array;
  #times = new Float64Array(8);
  #counts = new Float64Array(8);
  /** Runs at [0, #length), oldest first. */
  #length = 0;

  constructor(key: string, method: string, path: string, windows: number) {
    this.key = key;
    this.method = method;
    this.path = path;
    this.peaks = new Float64Array(windows);
    this.#sums = new Float64Array(windows);
    this.#heads = new Int32Array(windows);
  }

  /** One hit at `time`; `windowsMs` ascending. */
  hit(time: number, windowsMs: Float64Array): void {
    this.hits++;
    const last = this.#length - 1;
    if (last >= 0 && this.#times[last] === time) this.#counts[last]!++;
    else this.#append(time, windowsMs);
    const sums = this.#sums;
    const heads = this.#heads;
    const times = this.#times;
    const counts = this.#counts;
    for (let w = 0; w < windowsMs.length; w++) {
      let sum = sums[w]! + 1;
      let head = heads[w]!;
      const oldest = time - windowsMs[w]!;
      while (times[head]! <= oldest) sum -= counts[head++]!;
      sums[w] = sum;
      heads[w] = head;
      if (sum > this.peaks[w]!) this.peaks[w] = sum;
    }
  }

  #append(time: number, windowsMs: Float64Array): void {
    if (this.#length === this.#times.length) this.#compact(windowsMs);
    this.#times[this.#length] = time;
    this.#counts[this.#length] = 1;
    this.#length++;
  }

  /** Drops the runs no window needs (those before the widest window's cursor), and doubles
   *  the arrays when that frees less than half. */
  #compact(windowsMs: Float64Array): void {
    const drop = windowsMs.length === 0 ? this.#length : this.#heads[windowsMs.length - 1]!;
    const keep = this.#length - drop;
    if (keep * 2 > this.#times.length) {
      const times = new Float64Array(this.#times.length * 2);
      const counts = new Float64Array(times.length);
      times.set(this.#times.subarray(drop, this.#length));
      counts.set(this.#counts.subarray(drop, this.#length));
      this.#times = times;
      this.#counts = counts;
    } else {
      this.#times.copyWithin(0, drop, this.#length);
      this.#counts.copyWithin(0, drop, this.#length);
    }
    for (let w = 0; w < this.#heads.length; w++) this.#heads[w] = this.#heads[w]! - drop;
    this.#length = keep;
  }
}

export class RouteTable {
  readonly windowsMs: Float64Array;
  readonly #max: number;
  readonly #routes: RouteStats[] = [];
  /** Open addressing: route index + 1, 0 for empty. */
  #slots = new Int32Array(1024);
  #hashes = new Int32Array(1024);
  /** The id of `OTHER_ROUTE`, once the table is full. */
  #otherId = -1;
  /** Told of each new route (e.g. a replay settling which metrics it matches). */
  readonly #listeners: ((route: RouteStats, id: number) => void)[] = [];

  /** `windowsSeconds` in any order; `maxRoutes` bounds memory on logs with endless paths. */
  constructor(windowsSeconds: readonly number[], maxRoutes = DEFAULT_MAX_ROUTES) {
    this.windowsMs = Float64Array.from(
      [...windowsSeconds].sort((a, b) => a - b),
      (s) => s * 1000,
    );
    this.#max = maxRoutes;
  }

  /** The windows in seconds, ascending (the order of `RouteStats#peaks`). */
  get windowsSeconds(): number[] {
    return [...this.windowsMs].map((ms) => ms / 1000);
  }

  get routes(): readonly RouteStats[] {
    return this.#routes;
  }

  onNewRoute(listener: (route: RouteStats, id: number) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * The id of the route `text[start, end)` (method, a space at `methodEnd`, the path),
   * counting a hit at `time` on it.
   */
  hit(text: string, start: number, methodEnd: number, end: number, time: number): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    hash = mix32(hash);
    const mask = this.#slots.length - 1;
    const length = end - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = this.#slots[i]!;
      if (slot === 0) {
        const id = this.#add(text, start, methodEnd, end, hash, i);
        this.#routes[id]!.hit(time, this.windowsMs);
        return id;
      }
      if (this.#hashes[i] !== hash) continue;
      const route = this.#routes[slot - 1]!;
      const key = route.key;
      if (key.length !== length) continue;
      let same = true;
      for (let j = 0; j < length; j++) {
        if (key.charCodeAt(j) !== text.charCodeAt(start + j)) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      route.hit(time, this.windowsMs);
      return slot - 1;
    }
  }

  #add(
    text: string,
    start: number,
    methodEnd: number,
    end: number,
    hash: number,
    slot: number,
  ): number {
    if (this.#routes.length >= this.#max) {
      if (this.#otherId === -1) {
        this.#otherId = this.#routes.length;
        this.#create(OTHER_ROUTE, '', OTHER_ROUTE);
      }
      return this.#otherId;
    }
    // Through a Buffer: a copy, so the key does not keep the whole chunk's text alive.
    const bytes = Buffer.from(text.slice(start, end), 'latin1');
    const key = bytes.toString('latin1');
    // The key holds the line's bytes; what is shown and matched is their UTF-8 text.
    const method = bytes.toString('utf8', 0, methodEnd - start);
    const path = bytes.toString('utf8', Math.min(methodEnd - start + 1, bytes.length));
    const id = this.#routes.length;
    this.#slots[slot] = id + 1;
    this.#hashes[slot] = hash;
    this.#create(key, method, path);
    if (this.#routes.length * 2 > this.#slots.length) this.#grow();
    return id;
  }

  #create(key: string, method: string, path: string): RouteStats {
    const route = new RouteStats(key, method, path, this.windowsMs.length);
    const id = this.#routes.length;
    this.#routes.push(route);
    for (const listener of this.#listeners) listener(route, id);
    return route;
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const hashes = new Int32Array(slots.length);
    const mask = slots.length - 1;
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i]!;
      if (slot === 0) continue;
      const hash = this.#hashes[i]!;
      let j = hash & mask;
      while (slots[j] !== 0) j = (j + 1) & mask;
      slots[j] = slot;
      hashes[j] = hash;
    }
    this.#slots = slots;
    this.#hashes = hashes;
  }
}
