-- Shared by decide.lua, status.lua, ban.lua, reset.lua and ban-ms.lua (prepended to each when it
-- is loaded).
--
-- The state of one (token, metric) pair is one string key, plus a list only for a pair whose
-- recent events do not fit in it; with the token's :ban key, all share the hash tag
-- {t:<token>} (the names are defined once, in src/store/redis/keys.ts; scripts get them in
-- KEYS or from its events_key and ban_key):
--   <prefix>{t:<token>}:<metric>:state   STRING: packed numbers (below): the rates, the bans
--                                        in force and, while they are few, the event times.
--                                        Rewritten whole by every decision. Lives at least
--                                        an hour (the longest rate window), the longest
--                                        window while it holds event times, or the longest
--                                        ban in force, whichever is the latest, and at most
--                                        a 60th longer (put() below).
--   <prefix>{t:<token>}:<metric>:events  LIST, newest first, used only once a pair has more
--                                        than INLINE events within its longest window (and a
--                                        limit that needs them): the times of at least the
--                                        last max(limit) + 1 events. Expires the longest
--                                        window after the last event.
--   <prefix>{t:<token>}:ban              STRING: the end (epoch ms) of the token's latest
--                                        enforcing ban, on any metric; expires then. Raised
--                                        by the trips of decide.lua, recomputed from the
--                                        token's pairs by ban.lua and reset.lua (token-ban.lua),
--                                        read by every decision and ban-ms.lua. Absent: no
--                                        enforcing ban in force. Shadow thresholds never set it.
-- reset.lua publishes the token on the channel <prefix>lifts (not a key).
-- A threshold trips when its (limit + 1)-th newest event is inside its window: exact either
-- way. Rates are bucketed: 60 buckets of 1 s, 10 s and 60 s (src/store/rates.ts has the
-- bound); only the buckets that hold events are stored.
--
-- The state is packed with MessagePack (cmsgpack): one flat array of integers, each as short
-- as its value allows, so times are kept relative to t:
--   FORMAT, t (the latest time the pair was written at, epoch ms; 0 when it was only banned),
--   mode (0: event times inline, 1: in the :events list),
--   3 × (c, then c × (t / width − bucket index, count)), newest bucket first
--   l, then l × (t − event time), newest first                         -- mode 0 only
--   b, then b × (threshold from 0, end of its ban − t)                 -- bans in force
--   x, the key's expiry as its last write set it − t  -- absent in states of older versions
-- A pair's first event packs into ~25 bytes. decide.lua reads and writes this array in place;
-- state.lua turns it into a table and back for ban.lua and status.lua.

local FORMAT = 3
local BUCKET_MS = { 1000, 10000, 60000 }
local BUCKETS = 60
local RATE_SPAN_MS = 3600000
-- Most event times kept inline; past that (and only when a limit needs more) they move to
-- the :events list.
local INLINE = 64
local ceil, floor, max, min = math.ceil, math.floor, math.max, math.min

-- The server's TIME, epoch milliseconds.
local function server_time()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
end

-- Epoch milliseconds: the caller's clock when given (tests, replays), else the server's.
local function clock(given)
  if given ~= '' then return tonumber(given) end
  return server_time()
end

-- The error a writing script replies, before it writes anything, when it starts at or after
-- its deadline (whole epoch ms on the server's clock, which the client sets no later than the
-- moment it stops waiting): its caller has been answered by the failure policy, so applying
-- it now would count its events twice or start a ban whose actions never run. `real` is TIME
-- rounded down, so `real >= deadline` is exactly "the server's time has reached it". Carries
-- `real`, which the client learns the server's clock from. nil when in time.
local function expired(real, deadline)
  if real >= tonumber(deadline) then
    return redis.error_reply('HITWARDEN_EXPIRED ' .. real)
  end
  return nil
end

-- Writes the packed state `v` at `key`, its expiry in v[x] (absolute ms − t), so that the key
-- lives at least `ttl` ms from `now`. `expires` is the expiry the previous write recorded
-- (0 when unknown). The TTL is rewritten only when that falls short, and then set a 60th
-- beyond what is needed: a busy pair rewrites it about once per 60th of its TTL and otherwise
-- keeps it (SET … KEEPTTL costs Redis less than SET … PX). Keys outlive what they hold by at
-- most a 60th of their TTL.
local function put(key, v, x, t, now, ttl, expires)
  if expires >= now + ttl then
    v[x] = expires - t
    redis.call('SET', key, cmsgpack.pack(v), 'KEEPTTL')
  else
    local life = max(1, floor(ttl + ttl / 60))
    v[x] = now + life - t
    redis.call('SET', key, cmsgpack.pack(v), 'PX', life)
  end
end

