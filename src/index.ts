// The public face of hitwarden: exports only, no logic.

export { FixedWindow, type FixedWindowOptions } from './counter/fixed-window.js';
export {
  HitCounter,
  type HitCounterEvent,
  type HitCounterEvents,
  type HitCounterMetrics,
  type HitCounterOptions,
} from './counter/hit-counter.js';
export { Morris, type MorrisOptions } from './counter/morris.js';
export { SlidingLog, type SlidingLogOptions } from './counter/sliding-log.js';
export {
  SlidingWindowCounter,
  type SlidingWindowCounterOptions,
} from './counter/sliding-window-counter.js';
export {
  decodeSnapshot,
  encodeSnapshot,
  type HitCounterSnapshot,
  type SnapshotKey,
} from './counter/snapshot.js';
export type { CountingStrategy, StrategyState } from './counter/strategy.js';
export {
  ConfigError,
  FutureTimestampError,
  HitwardenError,
  InvalidIpError,
  InvalidTimeError,
  SnapshotError,
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
