/*
 * The one event mechanism of hitwarden (BanHammer, HitCounter, RedisStore), with one rule for
 * a listener that throws: the throw never reaches the code that emitted, nor its caller. It
 * is counted (each class's `listenerErrors`) and reported once per listener, as a process
 * warning (`HITWARDEN_LISTENER_ERROR`, the thrown value as its `cause`). Events are emitted
 * from inside the engines (a decision, a record, a failed Redis call, often off the caller's
 * path), where a listener's bug must neither break the engine's answer nor crash the process.
 *
 * Unlike Node's EventEmitter, an event named `error` is not special, and emitting with no
 * listener costs one map lookup; `has` lets the hot paths skip building a payload nobody reads.
 */

export type Listener<T> = (payload: T) => void;

/** The code of the warning a throwing listener is reported with. */
export const LISTENER_ERROR_WARNING = 'HITWARDEN_LISTENER_ERROR';

export class Emitter<Events extends object> {
  /** Copy-on-write lists: an emit in progress keeps the list it started with. */
  readonly #listeners = new Map<keyof Events, readonly Listener<never>[]>();
  /** Listeners already reported (each once, however often it throws). */
  readonly #reported = new WeakSet<Listener<never>>();
  /** What emitted: named in the warning (`BanHammer`, `HitCounter`, `RedisStore`). */
  readonly #owner: string;
  /** Hears of every change to `event`'s listeners (the HitCounter swaps its hot-path hook). */
  readonly #changed: ((event: keyof Events) => void) | undefined;
  #errors = 0;

  constructor(owner: string, changed?: (event: keyof Events) => void) {
    this.#owner = owner;
    this.#changed = changed;
  }

  /** Listener calls that threw since the emitter was made. */
  get listenerErrors(): number {
    return this.#errors;
  }

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.set(event, [
      ...(this.#listeners.get(event) ?? []),
      listener as Listener<never>,
    ]);
    this.#changed?.(event);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.#listeners.get(event);
    const at = list?.indexOf(listener as Listener<never>) ?? -1;
    if (list === undefined || at < 0) return;
    this.#listeners.set(
      event,
      list.filter((_, i) => i !== at),
    );
    this.#changed?.(event);
  }

  /** Whether anyone listens: lets callers skip building a payload nobody reads. */
  has(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.length ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (thrown) {
        this.#threw(event, listener, thrown);
      }
    }
  }

  #threw(event: keyof Events, listener: Listener<never>, thrown: unknown): void {
    this.#errors++;
    if (this.#reported.has(listener)) return;
    this.#reported.add(listener);
    // The thrown value is not looked at (it may be anything, traps included): it rides along
    // as the warning's cause for a `process.on('warning')` handler to inspect.
    const warning = new Error(
      `a ${this.#owner} '${String(event)}' listener threw; the throw was caught and counted ` +
        `in ${this.#owner}.listenerErrors (reported once per listener)`,
      { cause: thrown },
    );
    warning.name = 'HitwardenListenerWarning';
    (warning as Error & { code: string }).code = LISTENER_ERROR_WARNING;
    try {
      process.emitWarning(warning);
    } catch {
      // A `warning` handler cannot make the engine fail either.
    }
  }
}
