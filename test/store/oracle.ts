/*
 * The brute-force BanHammer: every timestamp of every (token, metric) in a plain list, every
 * threshold re-counted from scratch on every event. Slow and obviously right; the stores are
 * checked against it.
 */

export interface OracleThreshold {
  limit: number;
  window: number;
  action_duration: number;
  /** `mode: 'shadow'`: trips and keeps its ban end, never refuses. */
  shadow?: boolean;
}

/** `Quota` (src/store/store.ts), computed from scratch. */
export interface OracleQuota {
  threshold: number;
  remaining: number;
  resetMs: number;
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
    const refuses = (i: number) => this.#thresholds[i]!.shadow !== true;
    return { passed: !tripped.some(refuses) && !blocking.some(refuses), tripped, blocking };
  }

  /** The latest end of an enforcing ban of `token` in force at `now`, or 0. */
  banEnd(token: string, now: number): number {
    const bans = this.#bans.get(token) ?? [];
    let end = 0;
    bans.forEach((until, i) => {
      if (this.#thresholds[i]!.shadow !== true && until > now) end = Math.max(end, until);
    });
    return end;
  }

  /** The tightest enforcing threshold at `now`: least remaining, ties to the lowest index. */
  quota(token: string, now: number): OracleQuota | undefined {
    const events = this.#events.get(token) ?? [];
    const bans = this.#bans.get(token) ?? [];
    let best: OracleQuota | undefined;
    this.#thresholds.forEach((threshold, i) => {
      if (threshold.shadow === true) return;
      let remaining: number;
      let resetMs: number;
      if ((bans[i] ?? 0) > now) {
        remaining = 0;
        resetMs = bans[i]! - now;
      } else {
        const inWindow = events.filter((at) => at > now - threshold.window * 1000);
        remaining = Math.max(0, threshold.limit - inWindow.length);
        // The oldest event that counts against the limit: of the newest limit + 1.
        const counted = inWindow.slice(-(threshold.limit + 1));
        resetMs = counted.length === 0 ? 0 : counted[0]! + threshold.window * 1000 - now;
      }
      if (best === undefined || remaining < best.remaining)
        best = { threshold: i, remaining, resetMs };
    });
    return best;
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
