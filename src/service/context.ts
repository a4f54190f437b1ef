import type { BanHammer } from '../banhammer/ban-hammer.js';
import type { HitCounter } from '../counter/hit-counter.js';
import { ClientAddress } from '../http/client-address.js';
import type { IpTracker } from '../tracker/ip-tracker.js';
import type { BansPager } from './bans-pages.js';
import type { DaysKept } from './days.js';
import type { SeriesRing } from './series.js';
import type { TripsRing } from './trips.js';

/*
 * What the service's routes share: the engines behind the guard, the rings the service keeps
 * itself, and the facts /api/config reports. Made once in app.ts.
 */

export interface ServiceContext {
  readonly banHammer: BanHammer<boolean>;
  readonly tracker: IpTracker;
  /** The guard's hit counter: one-second buckets, an hour back. */
  readonly counter: HitCounter;
  /** Minute buckets, a day back, fed by the series each second (series.ts). */
  readonly longCounter: HitCounter;
  readonly series: SeriesRing;
  readonly trips: TripsRing;
  readonly bans: BansPager;
  readonly store: 'memory' | 'redis';
  readonly demo: boolean;
  readonly version: string;
  /** Whether an admin token is configured. */
  readonly admin: boolean;
  readonly clock: () => number;
  /** Route keys the hit counter may hold (`GET /hello`, `GET (unmatched)`…). */
  readonly routes: () => Iterable<string>;
  /** Requests the tracker counted this period. */
  trackerRequests(): number;
  /** The client token of an address, as the guard makes it (an IPv6 /64 prefix). */
  tokenOf(address: string): string;
  /** With --state: the days kept (`/api/top?day=`). */
  readonly days: DaysKept | undefined;
}

/** The address → token rule of the guard, for the top list's `banned`. */
export function tokenRule(ipv6Subnet: number | false = 64): (address: string) => string {
  const clients = new ClientAddress({ ipv6Subnet });
  return (address) => clients.resolve(address, undefined) ?? address;
}
