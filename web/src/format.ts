/*
 * Text for numbers, shares, durations and times. Pure functions, no DOM, so the unit tests
 * run them in Node. Fixed locale ('en-US') so the page reads the same on every machine and
 * the browser test can match its text.
 */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** A share in [0, 1] as a percentage with one decimal ("7.4 %"); under 0.1 % says so. */
export function formatShare(share: number): string {
  if (!Number.isFinite(share) || share <= 0) return '0 %';
  if (share < 0.001) return '< 0.1 %';
  return `${(share * 100).toFixed(1)} %`;
}

/**
 * A span of milliseconds, rounded up to the second, as a countdown reads it: "45 s",
 * "3 m 05 s", "2 h 03 m", "4 d 07 h". Rounded up so a ban never shows "0 s" while in force.
 */
export function formatRemaining(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return 'ending';
  const total = Math.ceil(ms / 1000);
  return formatSeconds(total);
}

/** Whole seconds as "45 s", "3 m 05 s", "2 h 03 m", "4 d 07 h". */
export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.round(total));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} m ${pad(s % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${pad(minutes % 60)} m`;
  return `${Math.floor(hours / 24)} d ${pad(hours % 24)} h`;
}

/** Epoch ms as the local wall-clock time "14:03:07". */
export function formatClock(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A threshold as its rule: "more than 10 in 1 h, ban 1 h". */
export function describeThreshold(t: { limit: number; window: number; duration: number }): string {
  return `more than ${formatCount(t.limit)} in ${formatSpan(t.window)}, ban ${formatSpan(t.duration)}`;
}

/** Whole seconds as the shortest exact unit: "90 s", "10 min", "1 h", "1 d". */
export function formatSpan(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
