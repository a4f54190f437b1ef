import { quoteInput } from '../errors.js';
import type { CompiledAction } from './config.js';
import type { ActionErrorEvent } from './events.js';

export interface ActionRunnerOptions {
  /** Default time an action may take, in ms (an action's own `timeoutMs` overrides it). */
  timeoutMs: number;
  /** Most actions queued or running at once; beyond that new ones are dropped and reported. */
  maxPending: number;
  onError: (event: ActionErrorEvent) => void;
  /** One action was dropped (it is reported later, with the others of its kind). */
  onDrop: () => void;
  onRun: () => void;
}

/** The drops of one action since its last `overloaded` report. */
interface Overload {
  count: number;
  /** The first token dropped. */
  readonly token: string;
}

/**
 * Runs actions off the caller's path: jobs are queued while a decision is made and started
 * together on the next turn of the event loop (`setImmediate`), after the caller has its
 * answer. Each runs under its own timeout; a throw, a rejection or a timeout of one never
 * touches the others, and is reported through `onError`, never thrown.
 *
 * Nothing here reads a property of the user's action or of what it returns or throws: the
 * compiled action carries its name and timeout (read once, at setup), and a returned value
 * is only ever handed to a promise's resolve, which turns every trap into a rejection. A
 * throw from inside `setImmediate` or a promise callback would end the process.
 */
export class ActionRunner {
  readonly #options: ActionRunnerOptions;
  /** Queued jobs, as two parallel arrays: queueing a job allocates no object. */
  #actions: CompiledAction[] = [];
  #tokens: string[] = [];
  /** Callbacks (event emissions) to run at the start of the next batch, before its actions. */
  #deferred: (() => void)[] = [];
  /** Drops not reported yet, by action: a flood of drops costs a count each, not an event. */
  readonly #overloads = new Map<CompiledAction, Overload>();
  #running = 0;
  #scheduled = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ActionRunnerOptions) {
    this.#options = options;
  }

  /** Actions queued or running, and deferred callbacks and drop reports not yet run. */
  get pending(): number {
    return this.#actions.length + this.#running + this.#deferred.length + this.#overloads.size;
  }

  /** Runs `callback` on the next batch, off the caller's path (its throw is its own). */
  defer(callback: () => void): void {
    this.#deferred.push(callback);
    this.#schedule();
  }

  /** Queues `action` to run for `token`, or drops it when `maxPending` are pending. */
  enqueue(action: CompiledAction, token: string): void {
    if (this.#actions.length + this.#running >= this.#options.maxPending) {
      this.#drop(action, token);
      return;
    }
    this.#actions.push(action);
    this.#tokens.push(token);
    this.#schedule();
  }

  #drop(action: CompiledAction, token: string): void {
    this.#options.onDrop();
    const overload = this.#overloads.get(action);
    if (overload !== undefined) {
      overload.count++;
      return;
    }
    this.#overloads.set(action, { count: 1, token });
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
    if (this.#overloads.size > 0) this.#reportOverloads();
    const actions = this.#actions;
    const tokens = this.#tokens;
    this.#actions = [];
    this.#tokens = [];
    // Counted as running before any starts, so one that settles at once does not look idle.
    this.#running += actions.length;
    for (let i = 0; i < actions.length; i++) this.#start(actions[i]!, tokens[i]!);
    this.#checkIdle();
  };

  #reportOverloads(): void {
    // Taken out first: a listener may decide again, and drop again, into the next report.
    const overloads = [...this.#overloads];
    this.#overloads.clear();
    for (const [action, { count, token }] of overloads) {
      this.#options.onError({
        token,
        metric: action.metric,
        threshold: action.threshold,
        action: action.name,
        reason: 'overloaded',
        count,
        error: new Error(
          `${count} call(s) of action ${quoteInput(action.name)} dropped: ${this.#options.maxPending} actions were already pending (maxPendingActions)`,
        ),
      });
    }
  }

  #start(action: CompiledAction, token: string): void {
    this.#options.onRun();
    let settled = false;
    const timeoutMs = action.timeoutMs ?? this.#options.timeoutMs;
    const finish = (reason?: ActionErrorEvent['reason'], error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#running--;
      if (reason !== undefined) {
        this.#options.onError({
          token,
          metric: action.metric,
          threshold: action.threshold,
          action: action.name,
          reason,
          count: 1,
          error,
        });
      }
      this.#checkIdle();
    };
    const timer = setTimeout(
      () =>
        finish(
          'timeout',
          new Error(`action ${quoteInput(action.name)} timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    // A hanging action must not keep the process alive on its own.
    timer.unref();
    // Called as a plain function: the action gets no `this` to reach the runner's state by.
    const run = action.run;
    let result: unknown;
    try {
      result = run(
        token,
        action.durationSeconds,
        action.metric,
        action.windowSeconds,
        action.limit,
      );
    } catch (error) {
      finish('threw', error);
      return;
    }
    if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
      // Adopted by a promise of our own, whose resolve reads `then` once and turns a throwing
      // getter, a throwing `then`, a Proxy (revoked or not) into a rejection. Not
      // `Promise.resolve(result)`: for a promise with a hostile `constructor` it throws at
      // once, and it hands back the promise itself, whose own `then` may be anything.
      new Promise((resolve) => resolve(result)).then(
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
