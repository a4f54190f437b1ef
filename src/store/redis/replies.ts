/*
 * Reading the scripts' replies. A writing script replies with the server's time first (which
 * refines the estimate of the server's clock), then its answer; decide.lua's reply is one
 * MessagePack array, the others' plain arrays of integers.
 */
import type { Ban, TokenStatus } from '../stats.js';
import type { Decision } from '../store.js';
import { unpackNumbers } from './msgpack.js';

/** The error a writing script replies when it starts after its deadline (lib.lua,
 *  `expired()`), followed by the server's time. */
const EXPIRED = 'HITWARDEN_EXPIRED ';

/** A writing script's reply as numbers (a MessagePack Buffer, an array, or one integer). */
export function numbersOf(reply: unknown): number[] {
  return Buffer.isBuffer(reply)
    ? unpackNumbers(reply)
    : Array.isArray(reply)
      ? (reply as number[])
      : [reply as number];
}

/** The server's time in an "expired" error (the script started after its deadline and wrote
 *  nothing), or `undefined` for any other failure. */
export function expiredAt(error: unknown): number | undefined {
  if (error instanceof Error && error.message.startsWith(EXPIRED)) {
    return Number(error.message.slice(EXPIRED.length));
  }
  return undefined;
}

/** The usual `tripped` and `blocking` (both are read only). */
const NONE: readonly number[] = Object.freeze([]);

/**
 * Splits decide.lua's flat reply (after the server's time) into the batch's decisions, in
 * order; throws for a reply too short for them. Per decision: passed, the three rates,
 * #tripped, #blocking, ban ms, then — with `quota` (every metric's configuration asked for
 * it) — the quota's threshold (−1: none), remaining and reset ms, then the two lists.
 */
export function decodeDecisions(
  reply: number[],
  settle: ((decision: Decision) => void)[],
  quota: boolean,
): void {
  const head = quota ? 10 : 7;
  let at = 1;
  for (const resolve of settle) {
    if (reply.length < at + head) throw new Error('decide.lua: the reply is too short');
    const passed = reply[at] === 1;
    const stats = {
      token_rate_1m: reply[at + 1]!,
      token_rate_10m: reply[at + 2]!,
      token_rate_60m: reply[at + 3]!,
    };
    const trippedCount = reply[at + 4]!;
    const blockingCount = reply[at + 5]!;
    const banMs = reply[at + 6]!;
    const threshold = quota ? reply[at + 7]! : -1;
    const remaining = quota ? reply[at + 8]! : 0;
    const resetMs = quota ? reply[at + 9]! : 0;
    at += head;
    const tripped = trippedCount === 0 ? NONE : reply.slice(at, at + trippedCount);
    at += trippedCount;
    const blocking = blockingCount === 0 ? NONE : reply.slice(at, at + blockingCount);
    at += blockingCount;
    if (threshold < 0) {
      resolve({ passed, stats, tripped, blocking, banMs });
    } else {
      resolve({
        passed,
        stats,
        tripped,
        blocking,
        banMs,
        quota: { threshold, remaining, resetMs },
      });
    }
  }
}

/** [now, r1, r2, r3, until per threshold...] from `reply[at]` on (status.lua, ban.lua) → the
 *  pair's `TokenStatus`. */
export function statusOf(reply: number[], at: number): TokenStatus {
  const bans: Ban[] = [];
  let blockedUntil: number | null = null;
  for (let i = at + 4; i < reply.length; i++) {
    const until = reply[i]!;
    if (until === 0) continue;
    bans.push({ threshold: i - at - 4, until });
    if (blockedUntil === null || until > blockedUntil) blockedUntil = until;
  }
  return {
    token_rate_1m: reply[at + 1]!,
    token_rate_10m: reply[at + 2]!,
    token_rate_60m: reply[at + 3]!,
    blocked_until: blockedUntil,
    bans,
  };
}

/** Whether a status says the pair is not tracked (no events in the last hour, no ban). */
export function isEmpty(status: TokenStatus): boolean {
  return status.token_rate_60m === 0 && status.bans.length === 0;
}
