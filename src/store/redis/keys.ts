/*
 * The Redis key layout, defined here once. scripts/lib.lua says what each key holds; the
 * scripts that derive a pair's `:events` key from its `:state` key get `events_key` from
 * `KEY_LAYOUT_LUA` below, generated from these constants, so the two sides cannot disagree.
 *
 *   <prefix>{t:<token>}:<metric>:state    STRING, every pair
 *   <prefix>{t:<token>}:<metric>:events   LIST, a pair with many recent events
 *
 * Both keys of a pair share the hash tag `{t:<token>}`, hence one cluster slot.
 */

export const STATE_SUFFIX = ':state';
export const EVENTS_SUFFIX = ':events';

/** The `:state` key of one (token, metric) pair. */
export function stateKeyOf(prefix: string, token: string, metric: string): string {
  return `${prefix}{t:${token}}:${metric}${STATE_SUFFIX}`;
}

/** The pair's `:events` key, beside its `:state` key. */
export function eventsKeyOf(state: string): string {
  return `${state.slice(0, -STATE_SUFFIX.length)}${EVENTS_SUFFIX}`;
}

/** What every `:state` key under `prefix` starts with: the prefix and the hash tag's head. */
export function tokenHeadOf(prefix: string): string {
  return `${prefix}{t:`;
}

/** `eventsKeyOf` in Lua, prepended to the scripts that need it (RedisScript's `header`). */
export const KEY_LAYOUT_LUA = `-- Generated from src/store/redis/keys.ts, the one definition of the key layout.
local function events_key(state)
  return string.sub(state, 1, ${-STATE_SUFFIX.length - 1}) .. '${EVENTS_SUFFIX}'
end`;
