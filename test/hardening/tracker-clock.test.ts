import { describe, expect, it } from 'vitest';
import { InvalidTimeError, IpTracker, ManualClock } from '../../src/index.js';

const DAY = 86_400_000;
const YEAR = 366 * DAY;
const NOON = Date.UTC(2026, 2, 10, 12);

describe('IpTracker rollover under a bad clock', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '1767225600000'],
    ['undefined', undefined],
  ])('refuses a clock reading of %s with InvalidTimeError, keeping the counts', (_, bad) => {
    let reading: unknown = NOON;
    const tracker = new IpTracker({ clock: () => reading as number, rollover: true });
    tracker.requestHandled('192.0.2.1');
    tracker.requestHandled('192.0.2.1');
    reading = bad;
    expect(() => tracker.requestHandled('192.0.2.1')).toThrow(InvalidTimeError);
    expect(() => tracker.count('192.0.2.1')).toThrow(InvalidTimeError);
    expect(() => tracker.top100()).toThrow(InvalidTimeError);
    reading = NOON + 1;
    expect(tracker.count('192.0.2.1')).toBe(2);
    expect(tracker.size).toBe(1);
    expect(tracker.previous).toBeUndefined();
  });

  it('refuses a clock that is bad from the start at construction', () => {
    expect(() => new IpTracker({ clock: () => Number.NaN, rollover: true })).toThrow(
      InvalidTimeError,
    );
  });

  it('rolls over at the next real midnight after one wild reading a year ahead', () => {
    const time = new ManualClock(NOON);
    let wild = false;
    const tracker = new IpTracker({
      clock: () => (wild ? NOON + YEAR : time.now()),
      rollover: true,
    });
    tracker.requestHandled('198.51.100.1');
    wild = true;
    tracker.requestHandled('198.51.100.2'); // counted in a period a year ahead
    wild = false;
    time.advance(60);
    tracker.requestHandled('198.51.100.3'); // the clock is corrected: back in today
    expect(tracker.count('198.51.100.3')).toBe(1);
    time.advance(12 * 3600); // past the real midnight
    tracker.requestHandled('198.51.100.4');
    expect(tracker.size).toBe(1);
    expect(tracker.previous?.start).toBe(Date.UTC(2026, 2, 10));
    expect(tracker.previous?.end).toBe(Date.UTC(2026, 2, 11));
    expect(tracker.previous?.top.map((row) => row.ip)).toContain('198.51.100.3');
  });

  it('keeps rolling daily after the clock runs a day ahead for a while, then is corrected', () => {
    const time = new ManualClock(NOON);
    let skew = 0;
    const tracker = new IpTracker({ clock: () => time.now() + skew, rollover: true });
    tracker.requestHandled('198.51.100.1');
    skew = DAY; // an hour of traffic stamped a day ahead
    for (let i = 0; i < 60; i++) {
      time.advance(60);
      tracker.requestHandled('198.51.100.2');
    }
    skew = 0;
    time.advance(60);
    tracker.requestHandled('198.51.100.3');
    expect(tracker.count('198.51.100.3')).toBe(1);
    const rolledBefore = tracker.previous;
    time.set(Date.UTC(2026, 2, 11, 0, 0, 1));
    tracker.requestHandled('198.51.100.4');
    expect(tracker.previous).not.toBe(rolledBefore);
    expect(tracker.previous?.start).toBe(Date.UTC(2026, 2, 10));
    expect(tracker.size).toBe(1);
  });

  it('does not roll back over a small step back of the clock', () => {
    const time = new ManualClock(Date.UTC(2026, 2, 11, 0, 0, 0, 200));
    const tracker = new IpTracker({ clock: time.now, rollover: true });
    tracker.requestHandled('198.51.100.1');
    time.advance(-0.5); // 23:59:59.700 the day before, within the clamp
    tracker.requestHandled('198.51.100.1');
    expect(tracker.count('198.51.100.1')).toBe(2);
    expect(tracker.previous).toBeUndefined();
  });
});

describe('IpTracker rollover.offsetSeconds, as documented', () => {
  const startOfPeriodAt = (offsetSeconds: number, at: number) => {
    const time = new ManualClock(at);
    const tracker = new IpTracker({ clock: time.now, rollover: { offsetSeconds } });
    tracker.requestHandled('192.0.2.1');
    time.advance(86_400);
    tracker.requestHandled('192.0.2.2');
    return tracker.previous!.start;
  };

  it('3600 starts periods at 01:00 UTC (midnight in UTC−1)', () => {
    expect(new Date(startOfPeriodAt(3600, NOON)).toISOString()).toBe('2026-03-10T01:00:00.000Z');
  });

  it('-3600 starts periods at 23:00 UTC (midnight in UTC+1)', () => {
    expect(new Date(startOfPeriodAt(-3600, NOON)).toISOString()).toBe('2026-03-09T23:00:00.000Z');
  });
});
