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
-- The packed state is a little-endian sequence of doubles (struct 'd'), exact for integers:
--   FORMAT, t (the latest time the pair was written at, epoch ms; 0 when only banned),
--   mode (0: event times inline, 1: in the :events list),
--   b, then b × (threshold from 0, end of its ban, epoch ms)           -- bans in force
--   3 × (c, then c × (bucket index, count)), bucket index = time / width, ascending
--   l, then l × event time, newest first                               -- mode 0 only

local FORMAT = 1
local BUCKET_MS = { 1000, 10000, 60000 }
local BUCKETS = 60
local RATE_SPAN_MS = 3600000
-- Most event times kept inline; past that (and only when a limit needs more) they move to
-- the :events list.
local INLINE = 64
-- Most values one struct call packs or unpacks (each is a value on Lua's C stack).
local CHUNK = 200

-- Epoch milliseconds: the caller's clock when given (tests, replays), else the server's.
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local formats = {}
local function doubles(n)
  local f = formats[n]
  if f == nil then
    f = '<' .. string.rep('d', n)
    formats[n] = f
  end
  return f
end

-- The state stored at `key`, or an empty one.
--   { t, mode, bans = { [threshold] = end }, rates = { {i, c, i, c, ...} ×3 }, log = {...} }
local function load(key)
  local raw = redis.call('GET', key)
  local state = { t = 0, mode = 0, bans = {}, rates = { {}, {}, {} }, log = {} }
  if not raw then return state end
  local count = #raw / 8
  local v
  if count <= CHUNK then
    v = { struct.unpack(doubles(count), raw) }
  else
    v = {}
    local pos = 1
    for from = 1, count, CHUNK do
      local m = math.min(CHUNK, count - from + 1)
      local part = { struct.unpack(doubles(m), raw, pos) }
      pos = part[m + 1]
      for i = 1, m do v[from + i - 1] = part[i] end
    end
  end
  if v[1] ~= FORMAT then return state end
  state.t = v[2]
  state.mode = v[3]
  local at = 5
  for _ = 1, v[4] do
    state.bans[v[at]] = v[at + 1]
    at = at + 2
  end
  for w = 1, 3 do
    local c = v[at]
    local r = state.rates[w]
    for i = 1, 2 * c do r[i] = v[at + i] end
    at = at + 1 + 2 * c
  end
  local log = state.log
  for i = 1, v[at] do log[i] = v[at + i] end
  return state
end

-- Writes `state` at `key`, to live `ttl` ms. Bans that have ended by `now` are dropped.
local function store(key, state, now, ttl)
  local v = { FORMAT, state.t, state.mode, 0 }
  local b = 0
  for t, ends in pairs(state.bans) do
    if ends > now then
      v[#v + 1] = t
      v[#v + 1] = ends
      b = b + 1
    end
  end
  v[4] = b
  for w = 1, 3 do
    local r = state.rates[w]
    v[#v + 1] = #r / 2
    for i = 1, #r do v[#v + 1] = r[i] end
  end
  local log = state.log
  v[#v + 1] = #log
  for i = 1, #log do v[#v + 1] = log[i] end
  local count = #v
  local raw
  if count <= CHUNK then
    raw = struct.pack(doubles(count), unpack(v))
  else
    local parts = {}
    for from = 1, count, CHUNK do
      local to = math.min(from + CHUNK - 1, count)
      parts[#parts + 1] = struct.pack(doubles(to - from + 1), unpack(v, from, to))
    end
    raw = table.concat(parts)
  end
  redis.call('SET', key, raw, 'PX', math.max(1, math.floor(ttl)))
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
  local at = math.max(now, state.t)
  local out = {}
  for w = 1, 3 do out[w] = rate(state.rates[w], math.floor(at / BUCKET_MS[w])) end
  for t = 1, n do
    local ban = state.bans[t - 1] or 0
    out[3 + t] = ban > now and ban or 0
  end
  return out
end
