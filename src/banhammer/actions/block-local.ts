import type { Action } from '../action.js';
import type { LocalBlockCache } from './local-block-cache.js';

/**
 * An action that blocks the token in `cache` for the threshold's `action_duration`: for a
 * deny cache of your own, outside a BanHammer.
 */
export function createBlockLocal(cache: LocalBlockCache): Action {
  return function blockLocal(token: string, duration: number): void {
    cache.block(token, duration);
  };
}

/**
 * Blocks the token in the BanHammer's own deny cache (`BanHammer#denyCache`) for
 * `action_duration` seconds, which the HTTP guard consults before anything else.
 *
 * Every enforcing ban now does this by itself, at the moment `decide` meets it (not a turn
 * later, as an action would), so `blockLocal` adds nothing: a configuration that lists it
 * still works, and the BanHammer leaves it out of the actions it runs (it neither runs nor
 * counts in `actions_run`). Called by hand it does nothing.
 *
 * ```ts
 * { limit: 10, window: 3600, action: [blockLocal], action_duration: 3600 }
 * ```
 */
export const blockLocal: Action = function blockLocal(): void {};
