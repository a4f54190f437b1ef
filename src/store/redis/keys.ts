/*
 * The Redis key layout, defined here once. scripts/lib.lua says what each key holds; the
 * scripts that derive a pair's `:events` key, or its token's `:ban` key, from its `:state` key
 * get `events_key` and `ban_key` from `KEY_LAYOUT_LUA` below, generated from these constants,
 * so the two sides cannot disagree.
 *
 *   <prefix>{t:<token>}:<metric>:state    STRING, every pair
 *   <prefix>{t:<token>}:<metric>:events   LIST, a pair with many recent events
 *   <prefix>{t:<token>}:ban               STRING, a token with an enforcing ban in force
 *   <prefix>lifts                         the pub/sub channel of lifted bans (not a key)
 *
 * Every key of a token shares the hash tag `{t:<token>}`, hence one cluster slot. The three
 * suffixes differ, so no key of one token is ever a key of another, whatever the names.
 */

export const STATE_SUFFIX = ':state';
export const EVENTS_SUFFIX = ':events';
export const BAN_SUFFIX = ':ban';

/** The `:state` key of one (token, metric) pair. */
export function stateKeyOf(prefix: string, token: string, metric: string): string {
  return `${prefix}{t:${token}}:${metric}${STATE_SUFFIX}`;
}

/** The pair's `:events` key, beside its `:state` key. */
export function eventsKeyOf(state: string): string {
  return `${state.slice(0, -STATE_SUFFIX.length)}${EVENTS_SUFFIX}`;
}

/** The token's `:ban` key: the end of its latest enforcing ban, on any metric. */
export function banKeyOf(prefix: string, token: string): string {
  return `${prefix}{t:${token}}${BAN_SUFFIX}`;
}

/** What a `:state` key of `metric` ends with after the hash tag, in bytes (UTF-8, as Redis
 *  and Lua count): the scripts' `ban_key` cuts it off. */
export function stateTailBytes(metric: string): number {
  return Buffer.byteLength(`:${metric}${STATE_SUFFIX}`);
}

/** What every `:state` key under `prefix` starts with: the prefix and the hash tag's head. */
export function tokenHeadOf(prefix: string): string {
  return `${prefix}{t:`;
}

/** The channel `reset` publishes each lifted token on (shared by the fleet on one prefix). */
export function liftChannelOf(prefix: string): string {
  return `${prefix}lifts`;
}

/** `eventsKeyOf` and `banKeyOf` in Lua, prepended to the scripts that need them
 *  (RedisScript's `header`). `ban_key` takes the state key and its `stateTailBytes`. */
export const KEY_LAYOUT_LUA = `-- Generated from src/store/redis/keys.ts, the one definition of the key layout.
local function events_key(state)
  return string.sub(state, 1, ${-STATE_SUFFIX.length - 1}) .. '${EVENTS_SUFFIX}'
end
local function ban_key(state, tail)
  return string.sub(state, 1, -tail - 1) .. '${BAN_SUFFIX}'
end`;
