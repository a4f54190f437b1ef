import type { TrippedEvent } from '../banhammer/events.js';

/*
 * The most recent trips (bans started, shadow trips and manual bans included), for
 * /api/trips and the stream: a ring of the last `capacity`, each with a sequence number so
 * the stream can send only those since its previous snapshot.
 */

export interface TripRow {
  time: number;
  token: string;
  metric: string;
  threshold: number;
  shadow: boolean;
  manual: boolean;
  /** Seconds the ban lasts. */
  duration: number;
}

export class TripsRing {
  readonly capacity: number;
  readonly #rows: TripRow[] = [];
  /** Trips recorded so far (the sequence number of the next one); never goes back, so a
   *  reader's `since` stays right across `clear`. */
  #count = 0;
  /** Trips numbered below this were cleared. */
  #floor = 0;

  constructor(capacity = 200) {
    this.capacity = capacity;
  }

  get count(): number {
    return this.#count;
  }

  record(event: TrippedEvent, time: number): void {
    const row: TripRow = {
      time,
      token: event.token,
      metric: event.metric,
      threshold: event.threshold,
      shadow: event.shadow,
      manual: event.manual,
      duration: event.duration,
    };
    this.#rows[this.#count % this.capacity] = row;
    this.#count++;
  }

  /** The newest `limit`, newest first. */
  recent(limit: number): TripRow[] {
    return this.since(Math.max(0, this.#count - limit));
  }

  /** The trips numbered `from` on that are still held, newest first. */
  since(from: number): TripRow[] {
    const out: TripRow[] = [];
    const oldest = Math.max(from, this.#count - this.capacity, this.#floor);
    for (let i = this.#count - 1; i >= oldest; i--) out.push(this.#rows[i % this.capacity]!);
    return out;
  }

  clear(): void {
    this.#floor = this.#count;
  }
}
