/*
 * The brute-force BanHammer: every timestamp of every (token, metric) in a plain list, every
 * threshold re-counted from scratch on every event. Slow and obviously right; the stores are
 * checked against it.
 */

export interface OracleThreshold {
  limit: number;
  window: number;
  action_duration: number;
}

export interface OracleDecision {
  passed: boolean;
  tripped: number[];
  blocking: number[];
}

export class Oracle {
  readonly #thresholds: OracleThreshold[];
  readonly #events = new Map<string, number[]>();
  readonly #bans = new Map<string, number[]>();

  constructor(thresholds: OracleThreshold[]) {
    this.#thresholds = thresholds;
  }

  incr(token: string, now: number): OracleDecision {
    const events = this.#events.get(token) ?? [];
    this.#events.set(token, events);
    events.push(now);
    const bans = this.#bans.get(token) ?? this.#thresholds.map(() => 0);
    this.#bans.set(token, bans);
    const tripped: number[] = [];
    const blocking: number[] = [];
    this.#thresholds.forEach((threshold, i) => {
      if (bans[i]! > now) {
        blocking.push(i);
        return;
      }
      const inWindow = events.filter((at) => at > now - threshold.window * 1000).length;
      if (inWindow > threshold.limit) {
        bans[i] = now + threshold.action_duration * 1000;
        tripped.push(i);
      }
    });
    return { passed: tripped.length === 0 && blocking.length === 0, tripped, blocking };
  }

  ban(token: string, threshold: number, now: number): void {
    const bans = this.#bans.get(token) ?? this.#thresholds.map(() => 0);
    this.#bans.set(token, bans);
    bans[threshold] = now + this.#thresholds[threshold]!.action_duration * 1000;
  }

  reset(token: string): void {
    this.#events.delete(token);
    this.#bans.delete(token);
  }

  /** Events of `token` in (now − seconds, now]. */
  count(token: string, now: number, seconds: number): number {
    return (this.#events.get(token) ?? []).filter((at) => at > now - seconds * 1000).length;
  }
}
