/*
 * Issue 13: `LocalBlockCache({ maxEntries: NaN })` meant unbounded, and 0 or -1 meant nothing
 * was ever blocked; `block(t, NaN)` made `retryAfter` return NaN. Options and arguments are
 * now checked, and the clock is read through a ClockGuard: a NaN reading is a typed error, and
 * a block made during a wild reading lasts at most its own length once the clock is corrected
 * (state stamped after the corrected time is treated as stamped at it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalBlockCache } from '../../src/banhammer/actions/local-block-cache.js';
import { MAX_SPAN_SECONDS } from '../../src/banhammer/config.js';
import { ConfigError, HitwardenError, InvalidTimeError } from '../../src/errors.js';
import { ManualClock } from '../../src/time/manual-clock.js';

const YEAR_MS = 365 * 86_400_000;

describe('LocalBlockCache', () => {
  it('refuses a maxEntries that is not an integer ≥ 1 (the reproduction)', () => {
    for (const maxEntries of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY, '5', null]) {
      expect(() => new LocalBlockCache({ maxEntries: maxEntries as number })).toThrow(
        expect.objectContaining({ path: 'LocalBlockCache.maxEntries' }),
      );
    }
    expect(() => new LocalBlockCache({ clock: 5 as unknown as () => number })).toThrow(
      expect.objectContaining({ path: 'LocalBlockCache.clock' }),
    );
    expect(() => new LocalBlockCache(null as never)).toThrow(ConfigError);
    const one = new LocalBlockCache({ maxEntries: 1 });
    one.block('a', 60);
    expect(one.isBlocked('a')).toBe(true);
  });

  it('refuses a block of NaN, negative, infinite or more than a year of seconds, and a token that is not a string', () => {
    const cache = new LocalBlockCache();
    for (const seconds of [Number.NaN, -1, Number.POSITIVE_INFINITY, MAX_SPAN_SECONDS + 1, '60']) {
      expect(() => cache.block('t', seconds as number)).toThrow(InvalidTimeError);
    }
    expect(cache.retryAfter('t')).toBe(0);
    expect(() => cache.block(5 as unknown as string, 60)).toThrow(
      expect.objectContaining({ code: 'HITWARDEN_INVALID_KEY' }),
    );
    expect(() => cache.block(5 as unknown as string, 60)).toThrow(HitwardenError);
    cache.block('t', MAX_SPAN_SECONDS);
    expect(cache.retryAfter('t')).toBe(MAX_SPAN_SECONDS);
  });

  it('a clock reading NaN is an InvalidTimeError that changes nothing; the cache works once it recovers', () => {
    let reading = 0;
    const cache = new LocalBlockCache({ clock: () => reading });
    cache.block('a', 10);
    reading = Number.NaN;
    expect(() => cache.block('b', 10)).toThrow(InvalidTimeError);
    expect(() => cache.retryAfter('a')).toThrow(InvalidTimeError);
    reading = 1000;
    expect(cache.retryAfter('a')).toBe(9);
    expect(cache.size).toBe(1);
  });

  it('a block made while the clock read a year ahead lasts its own length once the clock is corrected', () => {
    const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
    const cache = new LocalBlockCache({ clock: clock.now });
    const now = Date.parse('2026-03-01T00:00:00Z');
    cache.block('before', 30);
    clock.set(now + YEAR_MS);
    cache.block('wild', 60);
    clock.set(now);
    // Corrected: "wild" is taken as blocked from now, for its 60 s, not for a year.
    expect(cache.retryAfter('wild')).toBe(60);
    expect(cache.retryAfter('before')).toBe(30);
    clock.advance(60);
    expect(cache.isBlocked('wild')).toBe(false);
    // A longer block at the corrected time replaces the cut one; a shorter one does not.
    clock.set(now + YEAR_MS);
    cache.block('wild', 60);
    clock.set(now);
    cache.block('wild', 120);
    expect(cache.retryAfter('wild')).toBe(120);
    cache.block('wild', 5);
    expect(cache.retryAfter('wild')).toBe(120);
  });

  it('on a clock that only moves forward, retryAfter is the longest block in force (oracle)', () => {
    type Step =
      | { kind: 'block'; token: number; seconds: number }
      | { kind: 'advance'; ms: number }
      | { kind: 'ask'; token: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constant('block' as const),
        token: fc.integer({ min: 0, max: 4 }),
        seconds: fc.oneof(
          fc.integer({ min: 0, max: 600 }),
          fc.double({ min: 0, max: 600, noNaN: true }),
        ),
      }),
      fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 200_000 }),
      }),
      fc.record({ kind: fc.constant('ask' as const), token: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let now = 1_000_000;
        const cache = new LocalBlockCache({ clock: () => now });
        // The oracle: every block ever made, as (end in ms) per token.
        const ends = new Map<number, number[]>();
        for (const s of steps) {
          if (s.kind === 'advance') now += s.ms;
          else if (s.kind === 'block') {
            cache.block(`t${s.token}`, s.seconds);
            ends.set(s.token, [...(ends.get(s.token) ?? []), now + s.seconds * 1000]);
          } else {
            const end = Math.max(now, ...(ends.get(s.token) ?? []));
            expect(cache.retryAfter(`t${s.token}`)).toBe(Math.ceil((end - now) / 1000));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('under wild readings and corrections, no block outlasts its own length from the time it is read', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(YEAR_MS)),
            seconds: fc.integer({ min: 0, max: 600 }),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (blocks) => {
          let now = 0;
          const cache = new LocalBlockCache({ clock: () => now });
          let longest = 0;
          for (const { at, seconds } of blocks) {
            now = at;
            cache.block('t', seconds);
            longest = Math.max(longest, seconds);
            const left = cache.retryAfter('t');
            expect(Number.isInteger(left)).toBe(true);
            expect(left).toBeGreaterThanOrEqual(seconds > 0 ? 1 : 0);
            expect(left).toBeLessThanOrEqual(longest);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
