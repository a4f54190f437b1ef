import type { Action } from '../action.js';
import { type LocalBlockCache, localBlocks } from './local-block-cache.js';

/**
 * An action that blocks the token in `cache` for the threshold's `action_duration`.
 * `blockLocal` is this over the process-wide `localBlocks`.
 */
export function createBlockLocal(cache: LocalBlockCache): Action {
  return function blockLocal(token: string, duration: number): void {
    cache.block(token, duration);
  };
}

/**
 * Puts the token in this process's deny cache (`localBlocks`) for `action_duration` seconds;
 * the HTTP middleware refuses it from there before doing anything else.
 *
 * ```ts
 * { limit: 10, window: 3600, action: [blockLocal], action_duration: 3600 }
 * ```
 */
export const blockLocal: Action = createBlockLocal(localBlocks);
