import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, quoteInput } from '../errors.js';
import { replaceFile } from '../persist/saved-state.js';
import type { PeriodSummary } from '../tracker/ip-tracker.js';

/*
 * The days `hitwarden serve --state DIR` keeps: at each daily rollover of the tracker
 * (`--rollover HH:MM` in `--tz`, midnight UTC by default), the closing day's top list is
 * written to DIR/days/YYYY-MM-DD.json — named by the local date the day started on — and
 * `GET /api/top?day=YYYY-MM-DD` serves it.
 *
 * The zone's offset from UTC is read once, at start: across a daylight-saving change the
 * rollover keeps the old offset until the service restarts.
 */

const DAY_SECONDS = 86_400;

/** The zone's offset from UTC at `at` (epoch ms), in minutes east of UTC. Throws
 *  `ConfigError` (`--tz`) for a zone the runtime does not know. */
export function zoneOffsetMinutes(zone: string, at: number): number {
  let name: string | undefined;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((part) => part.type === 'timeZoneName')?.value;
  } catch {
    throw new ConfigError(
      '--tz',
      `not a time zone this runtime knows (an IANA name such as Europe/Paris), got ${quoteInput(zone)}`,
    );
  }
  const match = /^GMT(?:([+-])(\d\d):(\d\d))?$/.exec(name ?? '');
  if (match === null)
    throw new ConfigError('--tz', `cannot read the offset of ${quoteInput(zone)}`);
  if (match[1] === undefined) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/** The tracker's rollover for a day starting at `time` (`HH:MM`) in `zone`. */
export function dailyRollover(
  time: string,
  zone: string,
  now: number,
): { periodSeconds: number; offsetSeconds: number; zoneMinutes: number } {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (match === null)
    throw new ConfigError(
      '--rollover',
      `must be a time of day HH:MM (00:00 to 23:59), got ${quoteInput(time)}`,
    );
  const zoneMinutes = zoneOffsetMinutes(zone, now);
  const local = Number(match[1]) * 3600 + Number(match[2]) * 60;
  // Periods start at offsetSeconds past UTC midnight: local HH:MM is that minus the zone.
  const offsetSeconds = (((local - zoneMinutes * 60) % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS;
  return { periodSeconds: DAY_SECONDS, offsetSeconds, zoneMinutes };
}

/** YYYY-MM-DD: the local date (in a zone `zoneMinutes` east of UTC) of `at`. */
export function dayOf(at: number, zoneMinutes: number): string {
  return new Date(at + zoneMinutes * 60_000).toISOString().slice(0, 10);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class DaysKept {
  readonly #dir: string;
  readonly #zoneMinutes: number;
  #lastEnd: number | undefined;

  constructor(stateDir: string, zoneMinutes: number) {
    this.#dir = join(stateDir, 'days');
    this.#zoneMinutes = zoneMinutes;
  }

  /** Writes the finished day if it is new since the last call; resolves its name, or
   *  undefined when there was nothing new. */
  async record(previous: PeriodSummary | undefined): Promise<string | undefined> {
    if (previous === undefined || previous.end === this.#lastEnd) return undefined;
    this.#lastEnd = previous.end;
    const day = dayOf(previous.start, this.#zoneMinutes);
    const body = {
      day,
      start: new Date(previous.start).toISOString(),
      end: new Date(previous.end).toISOString(),
      addresses: previous.size,
      top: previous.top,
    };
    const bytes = Buffer.from(`${JSON.stringify(body)}\n`);
    await replaceFile(
      join(this.#dir, `${day}.json`),
      (handle) => handle.write(bytes).then(() => {}),
      false,
    );
    return day;
  }

  /** The days kept, newest first. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith('.json') && DAY.test(name.slice(0, -5)))
      .map((name) => name.slice(0, -5))
      .sort()
      .reverse();
  }

  /** The kept day's file, or undefined when there is none; throws `ConfigError` (`day`)
   *  for a name that is not a date. */
  async read(day: string): Promise<unknown> {
    if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
      throw new ConfigError('day', `must be a date YYYY-MM-DD, got ${quoteInput(day)}`);
    }
    try {
      return JSON.parse(await readFile(join(this.#dir, `${day}.json`), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
