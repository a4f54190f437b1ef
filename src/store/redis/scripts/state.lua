-- The packed state as a table, for status.lua and ban.lua (prepended to them after lib.lua).

-- The state packed in `raw` (a GET's reply), or an empty one when there is none; times absolute:
--   { t, mode, bans = { [threshold] = end }, rates = { {index, count, ...} ×3, ascending },
--     log = { time, ... newest first }, expires = the key's recorded expiry (0: unknown) }
local function decode(raw)
  local state = { t = 0, mode = 0, bans = {}, rates = { {}, {}, {} }, log = {}, expires = 0 }
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
  if v[at + 1] then state.expires = t + v[at + 1] end
  return state
end

local function load(key)
  return decode(redis.call('GET', key))
end

-- Writes `state` at `key`, to live at least `ttl` ms (and no less than it already had to).
-- Bans that have ended by `now` are dropped.
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
  put(key, v, count_at + 2 * b + 1, t, now, ttl, state.expires)
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
