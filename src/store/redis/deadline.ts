import { StoreError } from '../../errors.js';

/** A call that got no answer within its bound. */
export class StoreTimeoutError extends StoreError {
  /** What was called, e.g. `Redis incr`, `FleetSync flush`. */
  readonly operation: string;
  readonly timeoutMs: number;

  /** `option` names the setting that gave the bound, e.g. `RedisStore.timeoutMs`. */
  constructor(operation: string, timeoutMs: number, option: string) {
    super(`${operation} failed: no answer within ${timeoutMs} ms (${option})`);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/** A call waiting for its answer or its deadline (`performance.now()` ms). It stays in the
 *  queue until the timer passes it, up to `timeoutMs` after it settled, so what it refers to
 *  is let go of as soon as it no longer matters: otherwise every call of the last `timeoutMs`
 *  (its promise, its answer, whatever `late` holds, e.g. a batch of decisions) would be kept,
 *  grow old and cost the garbage collector (measured: a fifth of the client's time). */
interface PendingCall {
  readonly deadline: number;
  readonly operation: string;
  reject: (error: Error) => void;
  late: ((value: unknown) => void) | undefined;
  done: boolean;
}

const SETTLED = (): void => {};

/**
 * Bounds calls that may never answer (a Redis that hangs keeps its sockets open and says
 * nothing, so neither the socket nor the client ever fails them): each call settles with its
 * answer or, at its deadline, rejects with `StoreTimeoutError`. Every call gets the same
 * `timeoutMs`, so deadlines come in call order and one timer, armed for the oldest call still
 * pending, serves them all: no timer per call, however many are in flight. The timer holds the
 * process open only while a call is pending (a finished store keeps no process alive).
 */
export class Deadlines {
  readonly timeoutMs: number;
  readonly #option: string;
  readonly #pending: PendingCall[] = [];
  #head = 0;
  /** Calls not yet settled. */
  #waiting = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `timeoutMs` must be a valid timer delay (see `timeoutMsOption`); `option` names it. */
  constructor(timeoutMs: number, option: string) {
    this.timeoutMs = timeoutMs;
    this.#option = option;
  }

  /** The deadline of a call made now, for a caller that passes it on (e.g. to the server). */
  next(): number {
    return performance.now() + this.timeoutMs;
  }

  /**
   * `call`, bounded: it settles as `call` does, or rejects at `deadline` (from `next()`, just
   * before the call was made). `late` is given an answer that came after the deadline, when
   * the caller has already been told the call failed.
   */
  bound<T>(
    operation: string,
    call: Promise<T>,
    deadline: number = this.next(),
    late?: (value: T) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: PendingCall = {
        deadline,
        operation,
        reject,
        late: late as ((value: unknown) => void) | undefined,
        done: false,
      };
      this.#pending.push(entry);
      if (this.#waiting++ === 0) {
        if (this.#timer === undefined) this.#arm();
        else this.#timer.ref();
      }
      call.then(
        (value) => {
          if (entry.done) {
            entry.late?.(value);
            entry.late = undefined;
            return;
          }
          this.#settled(entry);
          resolve(value);
        },
        (error: unknown) => {
          if (entry.done) {
            entry.late = undefined;
            return;
          }
          this.#settled(entry);
          reject(error);
        },
      );
    });
  }

  /** One call fewer pending: with none left, the timer (still armed for a deadline that no
   *  longer matters) stops holding the process open. Unref rather than clear, so a steady
   *  stream of calls re-arms no timer. */
  #settled(entry: PendingCall): void {
    entry.done = true;
    entry.reject = SETTLED;
    entry.late = undefined;
    if (--this.#waiting === 0) this.#timer?.unref();
  }

  /** Arms the timer for the oldest call still pending (answered ones are dropped). */
  #arm(): void {
    const pending = this.#pending;
    while (this.#head < pending.length && pending[this.#head]!.done) this.#head++;
    if (this.#head === pending.length) {
      pending.length = 0;
      this.#head = 0;
      this.#timer = undefined;
      return;
    }
    if (this.#head >= 1024 && this.#head * 2 >= pending.length) {
      pending.splice(0, this.#head);
      this.#head = 0;
    }
    const delay = Math.max(0, pending[this.#head]!.deadline - performance.now());
    this.#timer = setTimeout(this.#expire, delay);
  }

  /** Rejects every call whose deadline has passed, then arms for the next. */
  readonly #expire = (): void => {
    const now = performance.now();
    const pending = this.#pending;
    while (this.#head < pending.length) {
      const entry = pending[this.#head]!;
      if (!entry.done) {
        if (entry.deadline > now) break;
        const reject = entry.reject;
        entry.done = true;
        entry.reject = SETTLED;
        this.#waiting--;
        reject(new StoreTimeoutError(entry.operation, this.timeoutMs, this.#option));
      }
      this.#head++;
    }
    this.#arm();
  };
}
