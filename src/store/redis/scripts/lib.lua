-- Shared by decide.lua, status.lua and ban.lua (prepended to each when it is loaded).
--
-- The state of one (token, metric) pair is two keys sharing the hash tag {t:<token>}:
--   <prefix>{t:<token>}:<metric>:log  LIST, newest first: the timestamps (epoch ms) of at least
--                                     the last max(limit) + 1 events (at most 64 more, trimmed
--                                     in steps); a threshold trips when its
--                                     (limit + 1)-th newest event is inside its window. Exact.
--                                     Expires the longest window after the last event.
--   <prefix>{t:<token>}:<metric>:st   HASH: the rates and the bans. Expires an hour (the
--                                     longest rate window) or the longest ban in force after the
--                                     last write, whichever is later.
-- Hash fields: e<w>  index of window w's newest bucket (time / bucket width)
--              s<w>  sum of window w's 60 buckets
--              <w>:<i>  bucket i (0..59) of window w; w = 1 (1 m), 2 (10 m), 3 (60 m)
--              b<t>  end of threshold t's ban, epoch ms (t from 0)
-- Rates are bucketed: 60 buckets of 1 s, 10 s and 60 s (src/banhammer/rates.ts has the bound).

local BUCKET_MS = { 1000, 10000, 60000 }
local BUCKETS = 60
local RATE_SPAN_MS = 3600000

-- Epoch milliseconds: the caller's clock when given (tests, replays), else the server's.
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- HMGET of any number of fields (unpack has a stack limit).
local function hmget(key, fields)
  local out = {}
  for from = 1, #fields, 500 do
    local part = redis.call('HMGET', key, unpack(fields, from, math.min(from + 499, #fields)))
    for i = 1, #part do out[from + i - 1] = part[i] end
  end
  return out
end

-- Window w's sum once its newest bucket is `idx`, given the stored epoch and sum; with
-- `write`, the buckets passed over are deleted. The bucket at idx % 60 is among them.
local function advance(st, w, epoch, sum, idx, write)
  local steps = idx - epoch
  if steps >= BUCKETS then
    if write then
      local all = {}
      for i = 0, BUCKETS - 1 do all[i + 1] = w .. ':' .. i end
      redis.call('HDEL', st, unpack(all))
    end
    return 0
  end
  local fields = {}
  for k = 1, steps do fields[k] = w .. ':' .. ((epoch + k) % BUCKETS) end
  local values = redis.call('HMGET', st, unpack(fields))
  for k = 1, steps do sum = sum - (tonumber(values[k]) or 0) end
  if write then redis.call('HDEL', st, unpack(fields)) end
  return sum
end

-- Rates and bans in force at `now`, without writing: { r1, r2, r3, until_0, ..., until_n-1 }
-- (0 for a threshold that does not hold the token).
local function read_status(st, now, n)
  local fields = { 'e1', 'e2', 'e3', 's1', 's2', 's3' }
  for t = 1, n do fields[6 + t] = 'b' .. (t - 1) end
  local v = hmget(st, fields)
  local out = {}
  for w = 1, 3 do
    local epoch = tonumber(v[w])
    local sum = tonumber(v[3 + w]) or 0
    local idx = math.floor(now / BUCKET_MS[w])
    if epoch == nil then
      sum = 0
    elseif idx > epoch then
      sum = advance(st, w, epoch, sum, idx, false)
    end
    out[w] = sum
  end
  for t = 1, n do
    local ban = tonumber(v[6 + t]) or 0
    out[3 + t] = ban > now and ban or 0
  end
  return out
end
