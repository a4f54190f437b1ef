import { ConfigError, quoteInput } from '../../errors.js';
import {
  functionOption,
  integerOption,
  MAX_TIMEOUT_MS,
  optionsObject,
  timeoutMsOption,
} from '../../options.js';
import { type Clock, ClockGuard, systemClock } from '../../time/clock.js';
import { type Action, actionRecord } from '../action.js';

export interface ReportCentralOptions {
  /** Where to POST each event (http or https). */
  url: string;
  /** Time one attempt may take, in ms. @default 2000 */
  timeoutMs?: number;
  /** Attempts after the first one fails, 0 to 20. @default 2 */
  retries?: number;
  /** Wait before the first retry, in ms; doubles before each next one. @default 100 */
  backoffMs?: number;
  /** Extra request headers (e.g. an authorization token): an object of strings. */
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

/** Most retries: the backoff doubles each time, so more would wait for days. */
const MAX_RETRIES = 20;
/** Time the action's budget leaves beyond its attempts and waits (fetch's own overhead). */
const BUDGET_SLACK_MS = 1000;

/** The extra headers: an object of strings that `fetch` accepts, copied at setup. */
function headersOption(value: unknown): Record<string, string> {
  // Null-prototype: a header named `__proto__` is a header.
  const headers: Record<string, string> = Object.create(null);
  headers['content-type'] = 'application/json';
  if (value === undefined) return headers;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      'reportCentral.headers',
      `must be an object of header names to strings, got ${quoteInput(value)}`,
    );
  }
  let entries: [string, unknown][];
  try {
    entries = Object.entries(value);
  } catch (error) {
    throw new ConfigError(
      'reportCentral.headers',
      'could not be read (a getter or a Proxy threw)',
      {
        cause: error,
      },
    );
  }
  for (const [name, text] of entries) {
    if (typeof text !== 'string') {
      throw new ConfigError(
        `reportCentral.headers[${quoteInput(name)}]`,
        `must be a string, got ${quoteInput(text)}`,
      );
    }
    headers[name.toLowerCase()] = text;
  }
  try {
    // What fetch would refuse on every attempt (a name with a space, a value with a newline).
    new Headers(headers);
  } catch (error) {
    throw new ConfigError('reportCentral.headers', 'holds a header that HTTP does not allow', {
      cause: error,
    });
  }
  return headers;
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
  if (options === undefined) {
    throw new ConfigError('reportCentral', 'expects { url, timeoutMs?, retries? }');
  }
  const given = optionsObject('reportCentral', options);
  const address: unknown = given.url;
  if (typeof address !== 'string' || !URL.canParse(address)) {
    throw new ConfigError(
      'reportCentral.url',
      `must be an absolute URL, got ${quoteInput(address)}`,
    );
  }
  const url = new URL(address);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      'reportCentral.url',
      `must be http or https, got ${quoteInput(url.protocol)}`,
    );
  }
  const timeoutMs = timeoutMsOption('reportCentral.timeoutMs', given.timeoutMs, 2000);
  const retries = integerOption('reportCentral.retries', given.retries, 2, 0, MAX_RETRIES);
  const backoffMs = integerOption(
    'reportCentral.backoffMs',
    given.backoffMs,
    100,
    0,
    MAX_TIMEOUT_MS,
  );
  // All attempts and the waits between them (backoff, doubling) must fit in one Node timer:
  // the runner times the whole action with it, and a longer one would fire at once.
  const budget = BUDGET_SLACK_MS + (retries + 1) * timeoutMs + backoffMs * (2 ** retries - 1);
  if (budget > MAX_TIMEOUT_MS) {
    throw new ConfigError(
      'reportCentral',
      `timeoutMs × (retries + 1) + backoffMs × (2^retries − 1) + ${BUDGET_SLACK_MS} ms is ${budget} ms (${timeoutMs} ms, ${retries} retries, ${backoffMs} ms backoff), more than ${MAX_TIMEOUT_MS} ms, the longest a Node timer waits: lower timeoutMs, retries or backoffMs`,
    );
  }
  const headers = headersOption(given.headers);
  const clock = new ClockGuard(
    functionOption<Clock>(
      'reportCentral.clock',
      given.clock,
      systemClock,
      'returning epoch milliseconds',
    ),
  );
  const target = url.href;
  /** The URL as messages show it: quoted, and cut when long. */
  const shown = quoteInput(target, 200);

  const report = async function reportCentral(
    token: string,
    duration: number,
    metric: string,
    window: number,
    limit: number,
  ): Promise<void> {
    const payload = JSON.stringify(
      actionRecord(clock.read(), token, duration, metric, window, limit),
    );
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
        lastError = new Error(`HTTP ${response.status} from ${shown}`);
        if (!retryable(response.status)) {
          throw new ReportCentralError(
            `${shown} refused the report: HTTP ${response.status}`,
            attempt + 1,
          );
        }
      } catch (error) {
        if (error instanceof ReportCentralError) throw error;
        lastError = error;
      }
    }
    throw new ReportCentralError(
      `reporting to ${shown} failed after ${retries + 1} attempt(s): ${describe(lastError)}`,
      retries + 1,
      { cause: lastError },
    );
  };
  return Object.assign(report, { timeoutMs: budget });
}

/** The last attempt's error for a message: its message quoted and cut, and nothing that can
 *  throw (an error is read inside a guard, never turned into a string by calling into it). */
function describe(error: unknown): string {
  try {
    const message = error instanceof Error ? error.message : error;
    return quoteInput(message, 200);
  } catch {
    return 'an error that could not be read';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
