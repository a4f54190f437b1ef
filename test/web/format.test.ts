import { describe, expect, it } from 'vitest';
import {
  describeThreshold,
  formatClock,
  formatCount,
  formatRemaining,
  formatShare,
  formatSpan,
} from '../../web/src/format.js';

describe('the dashboard text', () => {
  it('counts and shares', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatShare(0.0739)).toBe('7.4 %');
    expect(formatShare(0.0004)).toBe('< 0.1 %');
    expect(formatShare(0)).toBe('0 %');
    expect(formatShare(Number.NaN)).toBe('0 %');
  });

  it('countdowns round up, so a ban in force never reads 0 s', () => {
    expect(formatRemaining(1)).toBe('1 s');
    expect(formatRemaining(59_001)).toBe('1 m 00 s');
    expect(formatRemaining(3_725_000)).toBe('1 h 02 m');
    expect(formatRemaining(2 * 86_400_000 + 7 * 3_600_000)).toBe('2 d 07 h');
    expect(formatRemaining(0)).toBe('ending');
    expect(formatRemaining(-5)).toBe('ending');
  });

  it('spans and thresholds in the shortest exact unit', () => {
    expect(formatSpan(90)).toBe('90 s');
    expect(formatSpan(600)).toBe('10 min');
    expect(formatSpan(3600)).toBe('1 h');
    expect(formatSpan(86_400)).toBe('1 d');
    expect(describeThreshold({ limit: 10, window: 3600, duration: 86_400 })).toBe(
      'more than 10 in 1 h, ban 1 d',
    );
  });

  it('clock times are 24-hour and zero-padded', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5).getTime();
    expect(formatClock(at)).toBe('03:04:05');
  });
});
