/**
 * The Redis server's clock as seen from this process, for deadlines that a script checks on
 * the server: a call the client has given up on (its policy has answered) must write nothing
 * when it reaches Redis late (a hung server that resumes, a command a client resends).
 *
 * The client cannot read the server's clock, but every reply that carries the server's `TIME`
 * S, received at client time C, bounds the offset between the two clocks from below: the
 * reply left the server before it arrived, so `S − C` is at most the true offset. A deadline
 * `D` on the client's clock is then sent as `D + max(S − C)`: on the server's clock it falls
 * no later than the moment the client gives up, so a script that finds its deadline passed
 * is always one whose caller had already been answered (it may also refuse a call that came
 * in time by as much as the estimate is short: the round trip of the best recent reply).
 *
 * The estimate is the largest `S − C` of the last one to two `WINDOW_MS` windows: the largest
 * is the closest to the truth, and forgetting older ones lets it follow a server clock that
 * is stepped back (a server clock stepped forward shows in the next reply at once). Before any
 * reply, the client's own wall clock stands for the server's (NTP usually keeps them close; a
 * script that then finds itself expired says so with its `TIME`, which corrects the estimate).
 *
 * Client time is `performance.now()`, which no wall-clock correction steps. On a Cluster one
 * estimate serves every master: their clocks are taken as one (NTP keeps them within
 * milliseconds); a master whose clock lags the others by δ gets deadlines δ late on its clock.
 */
export class ServerClock {
  // [offset in use, largest sample of the current window, of the previous one, start of the
  // current window]: a typed array, so updating it boxes no double on the reply path.
  readonly #state = new Float64Array(4);

  constructor() {
    const state = this.#state;
    state[0] = Date.now() - performance.now();
    state[1] = Number.NEGATIVE_INFINITY;
    state[2] = Number.NEGATIVE_INFINITY;
    state[3] = performance.now();
  }

  /** A reply said the server's time was `serverMs` (epoch ms); it arrived just now. */
  observe(serverMs: number): void {
    if (typeof serverMs !== 'number' || serverMs - serverMs !== 0) return;
    const now = performance.now();
    const sample = serverMs - now;
    const state = this.#state;
    if (now - state[3]! >= WINDOW_MS) {
      state[2] = state[1]!;
      state[1] = sample;
      state[3] = now;
    } else if (sample > state[1]!) {
      state[1] = sample;
    }
    state[0] = Math.max(state[1]!, state[2]!);
  }

  /** The client's `performance.now()` instant `at` on the server's clock, in whole epoch ms,
   *  never later than the truth (up to the drift between the two clocks since the sample). */
  toServer(at: number): number {
    return Math.floor(at + this.#state[0]!);
  }
}

/** How long a sample is kept: one to two of these. */
const WINDOW_MS = 10_000;
