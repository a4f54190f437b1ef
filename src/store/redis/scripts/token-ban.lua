-- A token's :ban key recomputed from its pairs' states, for ban.lua and reset.lua (prepended
-- to them after lib.lua and state.lua). decide.lua only ever raises the key (a trip never
-- shortens a ban); a manual ban that replaces a longer one and a reset can lower it, so those
-- two read every pair of the token (its :state keys share the key's slot) and write the
-- latest enforcing end that remains.

-- The end of the latest ban of `state` (state.lua's decode) in force at `now` whose threshold
-- is enforcing by `shadows` ('0' enforcing, '1' shadow, one character per threshold; one not
-- there, of a threshold the metric no longer has, bans nothing); 0 when none.
local function enforcing_end(state, shadows, now)
  local latest = 0
  for threshold, ends in pairs(state.bans) do
    if ends > now and ends > latest and string.sub(shadows, threshold + 1, threshold + 1) == '0' then
      latest = ends
    end
  end
  return latest
end

-- The latest enforcing end of the pairs whose :state keys are KEYS[from ...], the shadow
-- flags of each in ARGV[shadows_at ...], in the same order.
local function others_end(from, shadows_at, now)
  local latest = 0
  for i = from, #KEYS do
    latest = max(latest, enforcing_end(load(KEYS[i]), ARGV[shadows_at + i - from], now))
  end
  return latest
end

-- Writes the token's :ban key: `ends` to live until then when it is after `now`, else no key.
local function put_ban(key, ends, now)
  if ends > now then
    redis.call('SET', key, ends, 'PX', max(1, ceil(ends - now)))
  else
    redis.call('DEL', key)
  end
end
