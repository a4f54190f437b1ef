import { z } from 'zod';
import { ConfigError, quoteInput } from '../errors.js';
import { timeoutMsOption } from '../options.js';
import type { Action } from './action.js';
import { blockLocal } from './actions/block-local.js';

/** Largest `limit` a threshold may have. Decisions are exact up to it: the memory store keeps
 *  the last `limit + 1` timestamps of a token that gets that far. */
export const MAX_LIMIT = 100_000;
/** Longest `window` and `action_duration`: one year, in seconds. */
export const MAX_SPAN_SECONDS = 366 * 86_400;
/** Most thresholds one metric may have (each is evaluated on every event). */
export const MAX_THRESHOLDS = 10_000;
/** Most metrics one configuration may have. */
export const MAX_METRICS = 10_000;

/** One threshold as the user writes it. */
export interface ThresholdConfig {
  /** The threshold trips when more than `limit` events fall in the last `window` seconds. */
  limit: number;
  /** Seconds. */
  window: number;
  /** Run on the tripping event and on each event refused while this threshold's ban holds. */
  action: readonly Action[];
  /** Seconds the token stays blocked once this threshold trips. */
  action_duration: number;
  /**
   * `'shadow'`: the threshold is counted, trips, emits `tripped` (with `shadow: true`) and
   * shows in the counters, but never refuses, never bans and runs no actions: a new
   * threshold can be watched on live traffic before it is enforced. @default 'enforce'
   */
  mode?: 'enforce' | 'shadow';
}

export interface MetricConfig {
  thresholds: readonly ThresholdConfig[];
}

/** Metric name → its thresholds. A plain object or a `Map` (whose keys may be any string). */
export type BansConfig =
  | { readonly [metric: string]: MetricConfig }
  | ReadonlyMap<string, MetricConfig>;

/**
 * One action of one threshold, with everything the runner needs to call and report it. The
 * action's `name` and `timeoutMs` are read once, here, at setup: a getter or a Proxy that
 * throws then is a `ConfigError` for the constructor's caller, where later it would have
 * thrown off the caller's path and crashed the process.
 */
export interface CompiledAction {
  /** The user's function; called without a `this`. */
  readonly run: Action;
  /** The function's name, or `"anonymous"`. */
  readonly name: string;
  /** Its own timeout in ms, or `undefined` for the BanHammer's `actionTimeoutMs`. */
  readonly timeoutMs: number | undefined;
  readonly metric: string;
  /** Index of the threshold in its metric. */
  readonly threshold: number;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly durationSeconds: number;
}

/** A validated threshold, in the units the stores use. */
export interface CompiledThreshold {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly durationSeconds: number;
  /** `mode: 'shadow'`: trips and reports, never refuses nor bans, runs no actions. */
  readonly shadow: boolean;
  readonly actions: readonly CompiledAction[];
}

export interface CompiledMetric {
  readonly name: string;
  readonly thresholds: readonly CompiledThreshold[];
}

/** A validated configuration: metrics in declaration order, and a name → index map. */
export interface CompiledBans {
  readonly metrics: readonly CompiledMetric[];
  readonly indexOf: ReadonlyMap<string, number>;
}

const seconds = (what: string) =>
  z
    .number({ error: `must be a finite number of seconds (${what})` })
    .max(MAX_SPAN_SECONDS, { error: `must be at most ${MAX_SPAN_SECONDS} seconds (366 days)` });

const thresholdSchema = z.strictObject(
  {
    limit: z
      .number({ error: 'must be a number (events allowed in the window)' })
      .int({ error: 'must be an integer' })
      .min(0, { error: 'must be at least 0' })
      .max(MAX_LIMIT, { error: `must be at most ${MAX_LIMIT}` }),
    window: seconds('window').positive({ error: 'must be more than 0 seconds' }),
    action: z
      .array(
        z.custom<Action>((value) => typeof value === 'function', {
          error: 'must be a function (token, duration, metric, window, limit) => unknown',
        }),
        { error: 'must be an array of actions (it may be empty)' },
      )
      .readonly(),
    action_duration: seconds('action_duration').min(0, { error: 'must be at least 0 seconds' }),
    mode: z.enum(['enforce', 'shadow'], { error: 'must be "enforce" or "shadow"' }).optional(),
  },
  {
    // Unknown keys keep zod's message, which names them (a typo such as `actionDuration`).
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? undefined
        : 'must be an object { limit, window, action, action_duration, mode? }',
  },
);

const metricSchema = z.strictObject(
  {
    thresholds: z
      .array(thresholdSchema, { error: 'must be an array of thresholds' })
      .min(1, { error: 'must have at least one threshold' })
      .max(MAX_THRESHOLDS, { error: `must have at most ${MAX_THRESHOLDS} thresholds` }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? undefined : 'must be an object { thresholds: [...] }',
  },
);

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Longest name a path shows as written; a longer one is quoted and cut, so a path built
 *  from a megabyte-long metric name stays a readable line. */
const MAX_PLAIN_SEGMENT = 80;

/** `bans.login_failed.thresholds[1].limit`; names that are not short identifiers are quoted
 *  (and cut). */
function formatPath(root: string, segments: readonly PropertyKey[]): string {
  let path = root;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (
      typeof segment === 'string' &&
      segment.length <= MAX_PLAIN_SEGMENT &&
      IDENTIFIER.test(segment)
    ) {
      path += `.${segment}`;
    } else path += `[${quoteInput(segment)}]`;
  }
  return path;
}

/** The config path of a metric: `bans.login_failed`, or `bans["a b"]` for other names. */
export function metricPath(name: string, root = 'bans'): string {
  return formatPath(root, [name]);
}

function entriesOf(bans: unknown): [string, unknown][] {
  if (bans instanceof Map) {
    const entries: [string, unknown][] = [];
    for (const [key, value] of bans) {
      if (typeof key !== 'string') {
        throw new ConfigError('bans', `metric names must be strings, got ${quoteInput(key)}`);
      }
      entries.push([key, value]);
    }
    return entries;
  }
  if (bans === null || typeof bans !== 'object' || Array.isArray(bans)) {
    throw new ConfigError('bans', 'must be an object mapping metric names to { thresholds }');
  }
  // Own enumerable string keys only: a metric called "__proto__" (from JSON.parse) is a metric.
  return Object.keys(bans).map((key) => [key, (bans as Record<string, unknown>)[key]]);
}

/**
 * Validates a bans configuration and compiles it. Throws `ConfigError` whose `path` names the
 * first offending place (`bans.login_failed.thresholds[1].limit`) and whose message says the
 * rule it breaks.
 */
export function compileBans(bans: BansConfig, root = 'bans'): CompiledBans {
  const entries = entriesOf(bans);
  if (entries.length === 0) throw new ConfigError(root, 'must configure at least one metric');
  if (entries.length > MAX_METRICS) {
    throw new ConfigError(root, `must have at most ${MAX_METRICS} metrics`);
  }
  const metrics: CompiledMetric[] = [];
  const indexOf = new Map<string, number>();
  for (const [name, value] of entries) {
    if (name.length === 0) {
      throw new ConfigError(formatPath(root, [name]), 'metric names must not be empty');
    }
    let result: ReturnType<typeof metricSchema.safeParse>;
    try {
      result = metricSchema.safeParse(value);
    } catch (error) {
      // A getter or a Proxy in the configuration that throws when read.
      throw new ConfigError(
        formatPath(root, [name]),
        'could not be read: reading it threw (a getter or a Proxy?)',
        { cause: error },
      );
    }
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const more = result.error.issues.length - 1;
      throw new ConfigError(
        formatPath(root, [name, ...issue.path]),
        `${issue.message}${more > 0 ? ` (and ${more} more problem${more > 1 ? 's' : ''})` : ''}`,
      );
    }
    indexOf.set(name, metrics.length);
    metrics.push({
      name,
      thresholds: result.data.thresholds.map((threshold, i) => ({
        limit: threshold.limit,
        windowSeconds: threshold.window,
        durationSeconds: threshold.action_duration,
        shadow: threshold.mode === 'shadow',
        // `blockLocal` is what every ban does by itself now (see block-local.ts).
        actions: threshold.action.flatMap((action, j) =>
          action === blockLocal
            ? []
            : [
                compileAction(action, formatPath(root, [name, 'thresholds', i, 'action', j]), {
                  metric: name,
                  threshold: i,
                  limit: threshold.limit,
                  windowSeconds: threshold.window,
                  durationSeconds: threshold.action_duration,
                }),
              ],
        ),
      })),
    });
  }
  return { metrics, indexOf };
}

/** Reads what the runner needs from `action` once, inside a guard (see `CompiledAction`). */
function compileAction(
  action: Action,
  path: string,
  place: Omit<CompiledAction, 'run' | 'name' | 'timeoutMs'>,
): CompiledAction {
  let name: unknown;
  let timeoutMs: unknown;
  try {
    name = action.name;
    timeoutMs = action.timeoutMs;
  } catch (error) {
    throw new ConfigError(
      path,
      'reading its name or timeoutMs threw (a getter or a Proxy?): an action must be readable',
      { cause: error },
    );
  }
  return {
    run: action,
    name: typeof name === 'string' && name.length > 0 ? name : 'anonymous',
    timeoutMs:
      timeoutMs === undefined ? undefined : timeoutMsOption(`${path}.timeoutMs`, timeoutMs, 0),
    ...place,
  };
}
