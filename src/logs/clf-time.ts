/*
 * The timestamp of the common and combined log formats, `10/Oct/2026:13:55:36 -0700`, read in
 * place. Hand-rolled rather than `Date.parse`, which would need a substring per line and does
 * not read this format anyway.
 */

/** Characters in `dd/Mon/yyyy:HH:MM:SS ±hhmm`. */
export const CLF_TIME_LENGTH = 26;

const DAY_MS = 86_400_000;

/** Month number (0–11) by the three letters' codes packed as c0 << 16 | c1 << 8 | c2. */
const MONTHS = new Map<number, number>(
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].map(
    (name, month) => [
      (name.charCodeAt(0) << 16) | (name.charCodeAt(1) << 8) | name.charCodeAt(2),
      month,
    ],
  ),
);

function digit(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

function two(text: string, i: number): number {
  return digit(text, i) * 10 + digit(text, i + 1);
}

/** Days from 1970-01-01 to year-month-day (proleptic Gregorian; month 0–11). */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Howard Hinnant's algorithm, restated: count from a March-based year so leap days fall
  // at the end of the year.
  const y = month < 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const m = month < 2 ? month + 10 : month - 2;
  const doy = Math.floor((153 * m + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31;
}

/** The date part of the last timestamp read, and its epoch ms: consecutive lines almost
 *  always share their date, so the month lookup and the calendar arithmetic run once a day. */
let lastDateKey = Number.NaN;
let lastDateMs = 0;

/**
 * Epoch milliseconds of the timestamp at `text[at, at + 26)`, or NaN when it is not one (a
 * field out of range, 31/Feb, a zone that is not ±hhmm).
 */
export function parseClfTime(text: string, at: number): number {
  if (text.charCodeAt(at + 2) !== 47 || text.charCodeAt(at + 6) !== 47) return Number.NaN; // '/'
  if (text.charCodeAt(at + 11) !== 58 || text.charCodeAt(at + 14) !== 58) return Number.NaN; // ':'
  if (text.charCodeAt(at + 17) !== 58 || text.charCodeAt(at + 20) !== 32) return Number.NaN;
  const day = two(text, at);
  const year = two(text, at + 7) * 100 + two(text, at + 9);
  const monthCode =
    (text.charCodeAt(at + 3) << 16) | (text.charCodeAt(at + 4) << 8) | text.charCodeAt(at + 5);
  // Exact in a double: year < 10^4, day < 100, the month's letters in 24 bits.
  const dateKey = (year * 128 + day) * 0x100_0000 + monthCode;
  if (dateKey !== lastDateKey) {
    // NaN (a non-digit) never equals the key kept, and fails the range tests here.
    const month = MONTHS.get(monthCode);
    if (month === undefined || !(day >= 1 && day <= daysInMonth(year, month))) return Number.NaN;
    lastDateKey = dateKey;
    lastDateMs = daysFromCivil(year, month, day) * DAY_MS;
  }
  const hour = two(text, at + 12);
  const minute = two(text, at + 15);
  const second = two(text, at + 18);
  const sign = text.charCodeAt(at + 21);
  const zoneHours = two(text, at + 22);
  const zoneMinutes = two(text, at + 24);
  if (!(hour <= 23 && minute <= 59 && second <= 60)) return Number.NaN;
  if ((sign !== 43 && sign !== 45) || !(zoneHours <= 23 && zoneMinutes <= 59)) return Number.NaN;
  const zone = (zoneHours * 60 + zoneMinutes) * 60_000 * (sign === 45 ? -1 : 1);
  // A leap second (:60) is read as the first second of the next minute.
  return lastDateMs + ((hour * 60 + minute) * 60 + second) * 1000 - zone;
}
