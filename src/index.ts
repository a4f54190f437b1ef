// The public face of hitwarden: exports only, no logic.

export {
  ConfigError,
  HitwardenError,
  InvalidIpError,
  StoreError,
} from './errors.js';
export type { AddressFamily } from './ip/address.js';
export { normalizeIp } from './ip/normalize.js';
export type { RedisConnectionOptions } from './store/redis/connection.js';
export {
  RedisFleetTopStore,
  type RedisFleetTopStoreOptions,
} from './store/redis/fleet-top-store.js';
export { type Clock, monotonic, systemClock } from './time/clock.js';
export { ManualClock } from './time/manual-clock.js';
export {
  type FleetBatch,
  type FleetDelta,
  FleetSync,
  type FleetSyncOptions,
  type FleetSyncStats,
  type FleetTopStore,
} from './tracker/fleet-sync.js';
export type { CountObserver } from './tracker/ip-tracker.js';
export {
  IpTracker,
  type IpTrackerOptions,
  type PeriodSummary,
  type RolloverOptions,
  type TopEntry,
} from './tracker/ip-tracker.js';
