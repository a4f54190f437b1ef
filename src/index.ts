// The public face of hitwarden: exports only, no logic.

// BanHammer
export { type Action, type ActionRecord, actionRecord } from './banhammer/action.js';
export { blockLocal, createBlockLocal } from './banhammer/actions/block-local.js';
export {
  LocalBlockCache,
  type LocalBlockCacheOptions,
} from './banhammer/actions/local-block-cache.js';
export { type RecordLocalOptions, recordLocal } from './banhammer/actions/record-local.js';
export {
  ReportCentralError,
  type ReportCentralOptions,
  reportCentral,
} from './banhammer/actions/report-central.js';
export {
  BanHammer,
  type BanHammerCounters,
  type BanHammerOptions,
  type IncrResult,
  type ThresholdTerms,
  type Verdict,
  type VerdictQuota,
} from './banhammer/ban-hammer.js';
export {
  type BansConfig,
  type CompiledBans,
  compileBans,
  MAX_LIMIT,
  MAX_METRICS,
  MAX_SPAN_SECONDS,
  MAX_THRESHOLDS,
  type MetricConfig,
  type ThresholdConfig,
} from './banhammer/config.js';
export type {
  ActionErrorEvent,
  BanHammerEvents,
  StoreFullEvent,
  TrippedEvent,
} from './banhammer/events.js';
// HitCounter
export { FixedWindow, type FixedWindowOptions } from './counter/fixed-window.js';
export {
  HitCounter,
  type HitCounterEvent,
  type HitCounterEvents,
  type HitCounterMetrics,
  type HitCounterOptions,
  type PruneReason,
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
  CapacityError,
  ConfigError,
  FutureTimestampError,
  HitwardenError,
  type HitwardenErrorCode,
  InvalidIpError,
  InvalidTimeError,
  MAX_MESSAGE_LENGTH,
  SnapshotError,
  StoreError,
} from './errors.js';
// HTTP guard (the adapters are the subpaths hitwarden/express, hitwarden/fastify, hitwarden/node)
export {
  type Admission,
  Guard,
  type GuardOptions,
  type HeaderList,
  type HeadersMode,
  type Refusal,
} from './http/guard.js';
export type { AddressFamily } from './ip/address.js';
export { CidrSet } from './ip/cidr-set.js';
export { normalizeIp } from './ip/normalize.js';
export { parseAddressIn } from './ip/parse.js';
export { MAX_TIMEOUT_MS } from './options.js';
// Persistence seam: what every engine's exportState() / loadState() speaks
export type {
  LoadStateOptions,
  StateArray,
  StateExport,
  StateImage,
  StateMeta,
} from './persist/state-image.js';
export {
  type MemoryRestoreReport,
  MemoryStore,
  type MemoryStoreOptions,
} from './store/memory/memory-store.js';
export { RATE_BUCKETS, RATE_WINDOWS_SECONDS } from './store/rates.js';
export type { RedisConnectionOptions } from './store/redis/connection.js';
export { StoreTimeoutError } from './store/redis/deadline.js';
export {
  RedisFleetTopStore,
  type RedisFleetTopStoreOptions,
} from './store/redis/fleet-top-store.js';
export {
  type RedisFailurePolicy,
  RedisStore,
  type RedisStoreMetrics,
  type RedisStoreOptions,
  type StoreErrorEvent,
} from './store/redis/redis-store.js';
export type { Ban, Stats, StatusEntry, TokenStatus } from './store/stats.js';
export type {
  Decision,
  Quota,
  Store,
  StoreMetric,
  StoreSetup,
  StoreThreshold,
} from './store/store.js';
export {
  BLOCKING,
  HAS_ACTIONS,
  NOT_HIT,
  PASSED,
  type SyncDecisions,
  TRIPPED,
  UNTRACKED,
} from './store/sync-decisions.js';
export {
  CLOCK_STEP_BACK_TOLERANCE_MS,
  type Clock,
  ClockGuard,
  monotonic,
  systemClock,
} from './time/clock.js';
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
