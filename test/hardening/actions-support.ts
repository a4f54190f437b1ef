/*
 * What the hardening tests of the BanHammer's actions share: a watch on the process for
 * exceptions and rejections nobody caught (the crash an action must never cause), and a
 * BanHammer whose one threshold trips on every event.
 */

import type { Action } from '../../src/banhammer/action.js';
import { BanHammer, type BanHammerOptions } from '../../src/banhammer/ban-hammer.js';
import type { ActionErrorEvent, TrippedEvent } from '../../src/banhammer/events.js';

/** Errors that reached the process: each would have ended it outside a test runner. */
export interface Crashes {
  uncaught: unknown[];
  unhandled: unknown[];
}

/** A few turns of the event loop: long enough for timers of 0 ms, immediates, microtasks and
 *  Node's unhandled-rejection check to have run. */
export async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs `body` and a few turns after it, recording what reached the process meanwhile. */
export async function watchCrashes(body: () => Promise<void>): Promise<Crashes> {
  const crashes: Crashes = { uncaught: [], unhandled: [] };
  const onUncaught = (error: unknown) => crashes.uncaught.push(error);
  const onUnhandled = (reason: unknown) => crashes.unhandled.push(reason);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await turns();
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  }
  return crashes;
}

/** A BanHammer over the memory store whose one threshold (limit 0) trips on the first event
 *  of a token and refuses the rest, running `actions` each time; with its events recorded. */
export function trippingHammer(actions: Action[], options: BanHammerOptions = {}) {
  const hammer = new BanHammer(
    { m: { thresholds: [{ limit: 0, window: 60, action: actions, action_duration: 60 }] } },
    options,
  );
  const errors: ActionErrorEvent[] = [];
  const tripped: TrippedEvent[] = [];
  hammer.on('action_error', (event) => errors.push(event));
  hammer.on('tripped', (event) => tripped.push(event));
  return { hammer, errors, tripped };
}
