import { ConfigError, quoteInput } from '../../errors.js';
import { type Clock, systemClock } from '../../time/clock.js';
import { type Action, actionRecord } from '../action.js';

export interface ReportCentralOptions {
  /** Where to POST each event (http or https). */
  url: string;
  /** Time one attempt may take, in ms. @default 2000 */
  timeoutMs?: number;
  /** Attempts after the first one fails. @default 2 */
  retries?: number;
  /** Wait before the first retry, in ms; doubles before each next one. @default 100 */
  backoffMs?: number;
  /** Extra request headers (e.g. an authorization token). */
  headers?: Record<string, string>;
  /** Stamps each report (`at`). @default Date.now */
  clock?: Clock;
}

/** A report that failed for good: every attempt failed or the server refused it. */
export class ReportCentralError extends Error {
  override readonly name = 'ReportCentralError';
  /** Attempts made. */
  readonly attempts: number;

  constructor(message: string, attempts: number, options?: ErrorOptions) {
    super(message, options);
    this.attempts = attempts;
  }
}

function checkCount(value: number | undefined, fallback: number, path: string, min: number) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 3_600_000) {
    throw new ConfigError(
      path,
      `must be an integer from ${min} to 3600000, got ${quoteInput(value)}`,
    );
  }
  return value;
}

/** Network errors, timeouts, 5xx and 429 are worth another try; other 4xx are not. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * An action that POSTs the event as JSON to a central service, with a timeout per attempt and
 * exponential backoff between attempts. It resolves once the service answers 2xx and rejects
 * with `ReportCentralError` when it never does; the BanHammer reports that as an
 * `action_error`. Its own time budget (all attempts and waits) is set as the action's
 * `timeoutMs`, so the BanHammer's default action timeout does not cut retries short.
 *
 * ```ts
 * { limit: 100, window: 3600, action: [reportCentral({ url: 'https://abuse.example/report' })],
 *   action_duration: 86400 }
 * ```
 */
export function reportCentral(options: ReportCentralOptions): Action {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('reportCentral', 'expects { url, timeoutMs?, retries? }');
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigError(
      'reportCentral.url',
      `must be an absolute URL, got ${quoteInput(options.url)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      'reportCentral.url',
      `must be http or https, got ${quoteInput(url.protocol)}`,
    );
  }
  const timeoutMs = checkCount(options.timeoutMs, 2000, 'reportCentral.timeoutMs', 1);
  const retries = checkCount(options.retries, 2, 'reportCentral.retries', 0);
  if (retries > 20) throw new ConfigError('reportCentral.retries', 'must be at most 20');
  const backoffMs = checkCount(options.backoffMs, 100, 'reportCentral.backoffMs', 0);
  const headers = { 'content-type': 'application/json', ...options.headers };
  const clock = options.clock ?? systemClock;
  const target = url.href;

  const report = async function reportCentral(
    token: string,
    duration: number,
    metric: string,
    window: number,
    limit: number,
  ): Promise<void> {
    const payload = JSON.stringify(actionRecord(clock(), token, duration, metric, window, limit));
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
      try {
        const response = await fetch(target, {
          method: 'POST',
          headers,
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
        // Drain the body so the connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        lastError = new Error(`HTTP ${response.status} from ${target}`);
        if (!retryable(response.status)) {
          throw new ReportCentralError(
            `${target} refused the report: HTTP ${response.status}`,
            attempt + 1,
          );
        }
      } catch (error) {
        if (error instanceof ReportCentralError) throw error;
        lastError = error;
      }
    }
    throw new ReportCentralError(
      `reporting to ${target} failed after ${retries + 1} attempt(s): ${String((lastError as Error)?.message ?? lastError)}`,
      retries + 1,
      { cause: lastError },
    );
  };
  let budget = 1000;
  for (let attempt = 0; attempt <= retries; attempt++) {
    budget += timeoutMs + (attempt > 0 ? backoffMs * 2 ** (attempt - 1) : 0);
  }
  return Object.assign(report, { timeoutMs: budget });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
