-- Shared by decide.lua, status.lua and ban.lua (prepended to each when it is loaded).
--
-- The state of one (token, metric) pair is one string key, plus a list only for a pair whose
-- recent events do not fit in it; both share the hash tag {t:<token>}:
--   <prefix>{t:<token>}:<metric>:state   STRING: packed numbers (below): the rates, the bans
--                                        in force and, while they are few, the event times.
--                                        Rewritten whole (SET … PX) by every decision, so
--                                        its TTL is always exact: an hour (the longest rate
--                                        window), the longest window while it holds event
--                                        times, or the longest ban in force, whichever is
--                                        the latest.
--   <prefix>{t:<token>}:<metric>:events  LIST, newest first, used only once a pair has more
--                                        than INLINE events within its longest window (and a
--                                        limit that needs them): the times of at least the
--                                        last max(limit) + 1 events. Expires the longest
--                                        window after the last event.
-- A threshold trips when its (limit + 1)-th newest event is inside its window: exact either
-- way. Rates are bucketed: 60 buckets of 1 s, 10 s and 60 s (src/banhammer/rates.ts has the
-- bound); only the buckets that hold events are stored.
--
-- The state is packed with MessagePack (cmsgpack): one flat array of integers, each as short
-- as its value allows, so times are kept relative to t:
--   FORMAT, t (the latest time the pair was written at, epoch ms; 0 when it was only banned),
--   mode (0: event times inline, 1: in the :events list),
--   3 × (c, then c × (t / width − bucket index, count)), newest bucket first
--   l, then l × (t − event time), newest first                         -- mode 0 only
--   b, then b × (threshold from 0, end of its ban − t)                 -- bans in force
-- A pair's first event packs into ~25 bytes. decide.lua reads and writes this array in place;
-- decode() and store() below turn it into a table and back for ban.lua and status.lua.

local FORMAT = 3
local BUCKET_MS = { 1000, 10000, 60000 }
local BUCKETS = 60
local RATE_SPAN_MS = 3600000
-- Most event times kept inline; past that (and only when a limit needs more) they move to
-- the :events list.
local INLINE = 64
local floor, max, min = math.floor, math.max, math.min

-- Epoch milliseconds: the caller's clock when given (tests, replays), else the server's.
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The state packed in `raw` (a GET's reply), or an empty one when there is none; times absolute:
--   { t, mode, bans = { [threshold] = end }, rates = { {index, count, ...} ×3, ascending },
--     log = { time, ... newest first } }
local function decode(raw)
  local state = { t = 0, mode = 0, bans = {}, rates = { {}, {}, {} }, log = {} }
  if not raw then return state end
  local v = cmsgpack.unpack(raw)
  if type(v) ~= 'table' or v[1] ~= FORMAT then return state end
  local t = v[2]
  state.t = t
  state.mode = v[3]
  local at = 4
  for w = 1, 3 do
    local c = v[at]
    local top = floor(t / BUCKET_MS[w])
    local r = state.rates[w]
    -- Stored newest first; kept oldest first.
    for i = 1, c do
      local from = at + 2 * (c - i) + 1
      r[2 * i - 1] = top - v[from]
      r[2 * i] = v[from + 1]
    end
    at = at + 1 + 2 * c
  end
  local log = state.log
  for i = 1, v[at] do log[i] = t - v[at + i] end
  at = at + 1 + v[at]
  for _ = 1, v[at] do
    state.bans[v[at + 1]] = t + v[at + 2]
    at = at + 2
  end
  return state
end

local function load(key)
  return decode(redis.call('GET', key))
end

-- SET … PX of a packed state; the usual TTL as a string (Redis would format the number).
local function put(key, v, ttl)
  redis.call('SET', key, cmsgpack.pack(v), 'PX',
    ttl == RATE_SPAN_MS and '3600000' or max(1, floor(ttl)))
end

-- Writes `state` at `key`, to live `ttl` ms. Bans that have ended by `now` are dropped.
local function store(key, state, now, ttl)
  local t = state.t
  local v = { FORMAT, t, state.mode }
  local n = 3
  for w = 1, 3 do
    local r = state.rates[w]
    local top = floor(t / BUCKET_MS[w])
    local c = #r / 2
    v[n + 1] = c
    n = n + 1
    for i = c, 1, -1 do
      v[n + 1] = top - r[2 * i - 1]
      v[n + 2] = r[2 * i]
      n = n + 2
    end
  end
  local log = state.log
  v[n + 1] = #log
  n = n + 1
  for i = 1, #log do v[n + i] = t - log[i] end
  n = n + #log
  local count_at = n + 1
  local b = 0
  for threshold, ends in pairs(state.bans) do
    if ends > now then
      v[count_at + 2 * b + 1] = threshold
      v[count_at + 2 * b + 2] = ends - t
      b = b + 1
    end
  end
  v[count_at] = b
  put(key, v, ttl)
end

-- Window w's sum at bucket index `idx` (≥ the newest stored one): the buckets after idx − 60.
local function rate(r, idx)
  local sum = 0
  for i = 1, #r, 2 do
    if r[i] > idx - BUCKETS then sum = sum + r[i + 1] end
  end
  return sum
end

-- Rates and bans of `state` in force at `now`: { r1, r2, r3, until_0, ..., until_n-1 } (0 for a
-- threshold that does not hold the token).
local function status_of(state, now, n)
  local at = max(now, state.t)
  local out = {}
  for w = 1, 3 do out[w] = rate(state.rates[w], floor(at / BUCKET_MS[w])) end
  for t = 1, n do
    local ban = state.bans[t - 1] or 0
    out[3 + t] = ban > now and ban or 0
  end
  return out
end
