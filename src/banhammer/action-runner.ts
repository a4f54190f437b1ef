import type { Action } from './action.js';
import type { ActionErrorEvent } from './events.js';

/** One action to run for one event. */
export interface ActionJob {
  action: Action;
  token: string;
  metric: string;
  threshold: number;
  durationSeconds: number;
  windowSeconds: number;
  limit: number;
}

export interface ActionRunnerOptions {
  /** Default time an action may take, in ms (an action's own `timeoutMs` overrides it). */
  timeoutMs: number;
  /** Most actions queued or running at once; beyond that new ones are dropped and reported. */
  maxPending: number;
  onError: (event: ActionErrorEvent) => void;
  /** A dropped action that could not even be reported (too many reports pending). */
  onDrop: () => void;
  onRun: () => void;
}

/**
 * Runs actions off the caller's path: jobs are queued while a decision is made and started
 * together on the next turn of the event loop (`setImmediate`), after the caller has its
 * answer. Each runs under its own timeout; a throw, a rejection or a timeout of one never
 * touches the others, and is reported through `onError`, never thrown.
 */
export class ActionRunner {
  readonly #options: ActionRunnerOptions;
  #queue: ActionJob[] = [];
  /** Callbacks (event emissions) to run at the start of the next batch, before its actions. */
  #deferred: (() => void)[] = [];
  #running = 0;
  #scheduled = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ActionRunnerOptions) {
    this.#options = options;
  }

  /** Actions queued or running, and deferred callbacks not yet run. */
  get pending(): number {
    return this.#queue.length + this.#running + this.#deferred.length;
  }

  /** Runs `callback` on the next batch, off the caller's path (its throw is its own). */
  defer(callback: () => void): void {
    this.#deferred.push(callback);
    this.#schedule();
  }

  enqueue(job: ActionJob): void {
    if (this.#queue.length + this.#running >= this.#options.maxPending) {
      const event: ActionErrorEvent = {
        token: job.token,
        metric: job.metric,
        threshold: job.threshold,
        action: nameOf(job.action),
        reason: 'overloaded',
        error: new Error(
          `action dropped: ${this.#options.maxPending} actions already pending (maxPendingActions)`,
        ),
      };
      // Reported off the caller's path too; past maxPending reports waiting, a drop is only
      // counted (onDrop) so a flood cannot queue reports without bound either.
      if (this.#deferred.length < this.#options.maxPending) {
        this.defer(() => this.#options.onError(event));
      } else {
        this.#options.onDrop();
      }
      return;
    }
    this.#queue.push(job);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Resolves once nothing is queued or running (e.g. before shutdown, or in tests). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const callback of deferred) callback();
    const jobs = this.#queue;
    this.#queue = [];
    // Counted as running before any starts, so one that settles at once does not look idle.
    this.#running += jobs.length;
    for (const job of jobs) this.#start(job);
    this.#checkIdle();
  };

  #start(job: ActionJob): void {
    this.#options.onRun();
    let settled = false;
    const timeoutMs = job.action.timeoutMs ?? this.#options.timeoutMs;
    const finish = (reason?: ActionErrorEvent['reason'], error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#running--;
      if (reason !== undefined) {
        this.#options.onError({
          token: job.token,
          metric: job.metric,
          threshold: job.threshold,
          action: nameOf(job.action),
          reason,
          error,
        });
      }
      this.#checkIdle();
    };
    const timer = setTimeout(
      () =>
        finish(
          'timeout',
          new Error(`action ${nameOf(job.action)} timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    // A hanging action must not keep the process alive on its own.
    timer.unref();
    let result: unknown;
    try {
      result = job.action(job.token, job.durationSeconds, job.metric, job.windowSeconds, job.limit);
    } catch (error) {
      finish('threw', error);
      return;
    }
    if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
      // Promise.resolve adopts a thenable, and turns a hostile `then` getter into a rejection.
      Promise.resolve(result).then(
        () => finish(),
        (error: unknown) => finish('rejected', error),
      );
    } else {
      finish();
    }
  }

  #checkIdle(): void {
    if (this.pending !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function nameOf(action: Action): string {
  return action.name || 'anonymous';
}
