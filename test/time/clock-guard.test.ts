import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_STEP_BACK_TOLERANCE_MS,
  ClockGuard,
  InvalidTimeError,
  monotonic,
} from '../../src/index.js';

function guardOver(readings: unknown[]): { guard: ClockGuard; next: () => number } {
  let i = 0;
  const guard = new ClockGuard(() => readings[i++] as number);
  return { guard, next: () => guard.read() };
}

describe('ClockGuard', () => {
  it('holds a small step back at the latest reading', () => {
    const { guard, next } = guardOver([
      10_000,
      10_000 - CLOCK_STEP_BACK_TOLERANCE_MS,
      10_500,
      10_001,
    ]);
    expect([next(), next(), next(), next()]).toEqual([10_000, 10_000, 10_500, 10_500]);
    expect(guard.corrections).toBe(0);
  });

  it('believes a step back past the tolerance: one wild reading does not freeze time', () => {
    const year = 366 * 86_400_000;
    const start = Date.UTC(2026, 0, 1);
    const { guard, next } = guardOver([start, start + year, start + 60_000, start + 120_000]);
    expect([next(), next(), next(), next()]).toEqual([
      start,
      start + year,
      start + 60_000,
      start + 120_000,
    ]);
    expect(guard.corrections).toBe(1);
  });

  it.each([
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    '1000',
    null,
    undefined,
    10n,
    new Date(0),
  ])('refuses the reading %s with InvalidTimeError and keeps the latest', (bad) => {
    const { guard, next } = guardOver([5_000, bad, 6_000]);
    expect(next()).toBe(5_000);
    expect(() => next()).toThrow(InvalidTimeError);
    expect(guard.latest).toBe(5_000);
    expect(next()).toBe(6_000);
  });

  it('never answers behind the latest answer by more than a correction allows (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e13, max: 1e13, noNaN: true }), {
          minLength: 1,
          maxLength: 50,
        }),
        (readings) => {
          const { next } = guardOver(readings);
          let previous = Number.NEGATIVE_INFINITY;
          for (const reading of readings) {
            const now = next();
            if (now < previous) {
              // Only a correction goes back, and then to the reading itself.
              expect(now).toBe(reading);
              expect(previous - reading).toBeGreaterThan(CLOCK_STEP_BACK_TOLERANCE_MS);
            } else {
              expect(now === reading || now === previous).toBe(true);
            }
            previous = now;
          }
        },
      ),
    );
  });

  it('monotonic() reads through the same rule', () => {
    const readings = [100_000, 99_500, 1_000];
    let i = 0;
    const clock = monotonic(() => readings[i++]!);
    expect([clock(), clock(), clock()]).toEqual([100_000, 100_000, 1_000]);
  });
});

describe('ManualClock', () => {
  it('never hands out a time a real clock could not show', async () => {
    const { ManualClock } = await import('../../src/index.js');
    expect(() => new ManualClock(Number.NaN)).toThrow(InvalidTimeError);
    const time = new ManualClock(1000);
    expect(() => time.advance(Number.POSITIVE_INFINITY)).toThrow(InvalidTimeError);
    expect(() => time.set('5' as never)).toThrow(InvalidTimeError);
    expect(() => time.advance(Number.MAX_VALUE)).toThrow(InvalidTimeError);
    expect(time.now()).toBe(1000);
  });
});
