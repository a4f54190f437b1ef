// The public face of hitwarden: exports only, no logic.

export {
  ConfigError,
  HitwardenError,
  InvalidIpError,
  StoreError,
} from './errors.js';
export type { AddressFamily } from './ip/address.js';
export { normalizeIp } from './ip/normalize.js';
export { type Clock, monotonic, systemClock } from './time/clock.js';
export { ManualClock } from './time/manual-clock.js';
export {
  IpTracker,
  type IpTrackerOptions,
  type PeriodSummary,
  type RolloverOptions,
  type TopEntry,
} from './tracker/ip-tracker.js';
