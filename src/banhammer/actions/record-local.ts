import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, quoteInput } from '../../errors.js';
import { functionOption, optionsObject } from '../../options.js';
import { type Clock, ClockGuard, systemClock } from '../../time/clock.js';
import { type Action, actionRecord } from '../action.js';

export interface RecordLocalOptions {
  /** The JSON-lines journal to append to; its directory is created if missing. */
  path: string;
  /** Stamps each line (`at`). @default Date.now */
  clock?: Clock;
}

/**
 * An action that appends one JSON line per event to a local journal:
 * `{"at":"…","token":"…","metric":"…","window":3600,"limit":10,"duration":3600}`.
 * Each line is written whole with its own append (O_APPEND) and handed to the OS before the
 * action resolves; lines keep the order the actions ran in. A failed write rejects that
 * action (an `action_error`) and does not stop later lines.
 */
export function recordLocal(options: RecordLocalOptions): Action {
  if (options === undefined) throw new ConfigError('recordLocal', 'expects { path }');
  const given = optionsObject('recordLocal', options);
  const { path } = given;
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new ConfigError(
      'recordLocal.path',
      `must be a non-empty file path, got ${quoteInput(path)}`,
    );
  }
  const clock = new ClockGuard(
    functionOption<Clock>(
      'recordLocal.clock',
      given.clock,
      systemClock,
      'returning epoch milliseconds',
    ),
  );
  let madeDirectory = false;
  let tail: Promise<unknown> = Promise.resolve();

  const write = async (line: string) => {
    if (!madeDirectory) {
      await mkdir(dirname(path), { recursive: true });
      madeDirectory = true;
    }
    await appendFile(path, line, 'utf8');
  };

  return function recordLocal(token, duration, metric, window, limit): Promise<void> {
    let line: string;
    try {
      line = `${JSON.stringify(actionRecord(clock.read(), token, duration, metric, window, limit))}\n`;
    } catch (error) {
      // A clock that cannot be read: this call rejects, like a failed write.
      return Promise.reject(error);
    }
    const written = tail.then(
      () => write(line),
      () => write(line),
    );
    tail = written.catch(() => {});
    return written;
  };
}
