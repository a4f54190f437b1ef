import type { Trip } from './contract.js';
import { el } from './dom.js';
import { formatClock, formatSeconds } from './format.js';

/**
 * The most recent trips, newest first, at most `limit`. The stream sends the trips since its
 * previous snapshot; after a reconnect the page fetches /api/trips again and `replace`s, so
 * the trips made while the stream was down are not lost.
 */
export class TripsPanel {
  private trips: Trip[] = [];

  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
    private readonly limit = 50,
  ) {}

  replace(trips: readonly Trip[]): void {
    this.trips = [];
    this.add(trips);
  }

  add(trips: readonly Trip[]): void {
    if (trips.length === 0 && this.list.childElementCount > 0) return;
    const seen = new Set(this.trips.map(keyOf));
    for (const trip of trips) {
      if (seen.has(keyOf(trip))) continue;
      seen.add(keyOf(trip));
      this.trips.push(trip);
    }
    this.trips.sort((a, b) => b.time - a.time);
    this.trips.length = Math.min(this.trips.length, this.limit);
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(...this.trips.map(itemOf));
    this.empty.hidden = this.trips.length > 0;
  }
}

function keyOf(trip: Trip): string {
  return `${trip.time}\u0000${trip.token}\u0000${trip.metric}\u0000${trip.threshold}`;
}

function itemOf(trip: Trip): HTMLLIElement {
  const time = el('time', { className: 'trip-time', text: formatClock(trip.time) });
  time.dateTime = new Date(trip.time).toISOString();
  const flags: HTMLElement[] = [];
  if (trip.manual) flags.push(el('span', { className: 'badge badge-manual', text: 'manual' }));
  if (trip.shadow) {
    flags.push(
      el('span', {
        className: 'badge badge-shadow',
        text: 'shadow',
        title: 'a shadow threshold: counted and reported, not enforced',
      }),
    );
  }
  return el(
    'li',
    { className: trip.shadow ? 'trip shadow' : 'trip' },
    time,
    el('span', { className: 'addr', text: trip.token }),
    el('span', { className: 'trip-rule', text: `${trip.metric} · tier ${trip.threshold}` }),
    el('span', {
      className: 'trip-duration',
      text: trip.shadow ? 'not enforced' : `banned ${formatSeconds(trip.duration)}`,
    }),
    ...flags,
  );
}
