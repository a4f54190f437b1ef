-- Decides a batch of events, in order, each atomically: counts the event, evaluates every
-- threshold of its metric, starts the bans it trips, updates the rates. One call carries the
-- decisions that were in flight together for one node (one slot on a cluster), all at one
-- instant `now`. Events of the same (token, metric) are handled together: their state is read
-- once and written once, and a threshold is evaluated with O(log K) list reads for K events,
-- with exactly the outcome K separate calls in that order would have had.
--
-- KEYS     per decision: its :log key, then its :st key (same {t:<token>} hash tag)
-- ARGV[1]  now, epoch ms; '' to use the Redis server's TIME (the default: a fleet agrees)
-- ARGV[2]  M, the number of metric configurations that follow, each:
--            n, ring (max limit + 1), log ttl ms (longest window), refresh window r (1..3),
--            then n × (limit, window ms, duration ms)
-- then     per decision: the position (1..M) of its metric's configuration
-- Reply    per decision: passed (1/0), rate 1m, rate 10m, rate 60m, #tripped, #blocking, then
--          the tripped threshold indexes, then the blocking ones (from 0)
--
-- TTLs are refreshed when a pair's bucket of rate window r changes (and when a ban starts),
-- by that bucket's width (1 s, 10 s or 60 s: the largest under a 60th of the longest window)
-- beyond what the state needs: a hot token pays for it once per bucket, not per event.
local TRIM_STEP = 64
local now = clock(ARGV[1])
local configs = {}
local at = 3
for m = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[at])
  local c = { n = n, ring = tonumber(ARGV[at + 1]), log_ttl = tonumber(ARGV[at + 2]),
              r = tonumber(ARGV[at + 3]), limit = {}, window = {}, duration = {} }
  at = at + 4
  for t = 1, n do
    c.limit[t] = tonumber(ARGV[at])
    c.window[t] = tonumber(ARGV[at + 1])
    c.duration[t] = tonumber(ARGV[at + 2])
    at = at + 3
  end
  configs[m] = c
end

-- Group the decisions by pair, in order of first appearance.
local groups = {}
local by_key = {}
local decisions = #KEYS / 2
for d = 1, decisions do
  local st = KEYS[2 * d]
  local g = by_key[st]
  if g == nil then
    g = { log = KEYS[2 * d - 1], st = st, c = configs[tonumber(ARGV[at + d - 1])], ds = {} }
    by_key[st] = g
    groups[#groups + 1] = g
  end
  g.ds[#g.ds + 1] = d
end

local idx = { math.floor(now / BUCKET_MS[1]), math.floor(now / BUCKET_MS[2]),
              math.floor(now / BUCKET_MS[3]) }
local rates = {}     -- per decision: { r1, r2, r3 }
local tripped = {}   -- per decision: list of threshold indexes
local blocking = {}
for d = 1, decisions do
  tripped[d] = {}
  blocking[d] = {}
end

for _, g in ipairs(groups) do
  local st, log, c, ds = g.st, g.log, g.c, g.ds
  local n = c.n
  local K = #ds

  local fields = { 'e1', 'e2', 'e3', 's1', 's2', 's3',
                   '1:' .. (idx[1] % BUCKETS), '2:' .. (idx[2] % BUCKETS), '3:' .. (idx[3] % BUCKETS) }
  for t = 1, n do fields[9 + t] = 'b' .. (t - 1) end
  local v = hmget(st, fields)
  local refresh = v[c.r] == false or tonumber(v[c.r]) ~= idx[c.r]
  local slack = BUCKET_MS[c.r]

  -- Rates: move each window to now; the K events land in its newest bucket. The buckets
  -- passed over are read in one HMGET (all windows together) and zeroed by the one HSET.
  local write = {}
  local before = {}
  local passed_fields = {}
  local passed_window = {}
  local newest = {}
  for w = 1, 3 do
    local epoch = tonumber(v[w])
    local sum = tonumber(v[3 + w]) or 0
    local i = idx[w]
    local bucket = tonumber(v[6 + w]) or 0
    if epoch == nil then
      sum = 0
      bucket = 0
    elseif i > epoch then
      local steps = i - epoch
      if steps >= BUCKETS then
        sum = 0
        for b = 0, BUCKETS - 1 do
          write[#write + 1] = w .. ':' .. b
          write[#write + 1] = 0
        end
      else
        for k = 1, steps - 1 do
          local field = w .. ':' .. ((epoch + k) % BUCKETS)
          passed_fields[#passed_fields + 1] = field
          passed_window[#passed_fields] = w
        end
        -- The newest bucket's old content (read above) is passed over too.
        sum = sum - bucket
      end
      bucket = 0
    elseif i < epoch then
      -- The caller's clock stepped back: count in the newest bucket.
      i = epoch
      bucket = tonumber(redis.call('HGET', st, w .. ':' .. (i % BUCKETS))) or 0
    end
    before[w] = sum
    newest[w] = { i, bucket }
  end
  if #passed_fields > 0 then
    local values = redis.call('HMGET', st, unpack(passed_fields))
    for p = 1, #passed_fields do
      local w = passed_window[p]
      before[w] = before[w] - (tonumber(values[p]) or 0)
      write[#write + 1] = passed_fields[p]
      write[#write + 1] = 0
    end
  end
  for w = 1, 3 do
    local i, bucket = newest[w][1], newest[w][2]
    write[#write + 1] = 'e' .. w
    write[#write + 1] = i
    write[#write + 1] = 's' .. w
    write[#write + 1] = before[w] + K
    write[#write + 1] = w .. ':' .. (i % BUCKETS)
    write[#write + 1] = bucket + K
  end
  for k = 1, K do
    rates[ds[k]] = { before[1] + k, before[2] + k, before[3] + k }
  end

  -- The events: all K at `now`, pushed at once. The list as decision k saw it is its k events
  -- on top of the old list, which now starts at index K.
  local stamps = {}
  for k = 1, K do stamps[k] = now end
  local length = redis.call('LPUSH', log, unpack(stamps))

  local longest_ban = 0
  for t = 1, n do
    local limit, window, duration = c.limit[t], c.window[t], c.duration[t]
    local ban = tonumber(v[9 + t]) or 0
    if ban > now then
      for k = 1, K do blocking[ds[k]][#blocking[ds[k]] + 1] = t - 1 end
    else
      -- Decision k trips when its (limit + 1)-th newest event is inside the window: one of
      -- the batch's own (k > limit) or old event limit − k. True for k, true for every later k.
      local function trips(k)
        if k > limit then return true end
        local i = K + limit - k
        if i >= length then return false end
        local stamp = redis.call('LINDEX', log, i)
        return stamp ~= false and tonumber(stamp) > now - window
      end
      local hi = math.min(K, limit + 1)
      if trips(hi) then
        local lo = 1
        while lo < hi do
          local mid = math.floor((lo + hi) / 2)
          if trips(mid) then hi = mid else lo = mid + 1 end
        end
        -- Decision `lo` trips; while its ban holds, later ones are refused; a ban of 0 s
        -- holds nothing, so each later one trips again.
        ban = now + duration
        write[#write + 1] = 'b' .. (t - 1)
        write[#write + 1] = ban
        refresh = true
        local d = ds[lo]
        tripped[d][#tripped[d] + 1] = t - 1
        for k = lo + 1, K do
          d = ds[k]
          if ban > now then
            blocking[d][#blocking[d] + 1] = t - 1
          else
            tripped[d][#tripped[d] + 1] = t - 1
          end
        end
      end
    end
    if ban - now > longest_ban then longest_ban = ban - now end
  end

  redis.call('HSET', st, unpack(write))
  -- Trimmed in steps of TRIM_STEP: LTRIM costs about as much for one entry as for many.
  if length > c.ring + TRIM_STEP then redis.call('LTRIM', log, 0, c.ring - 1) end
  if refresh then
    redis.call('PEXPIRE', log, c.log_ttl + slack)
    redis.call('PEXPIRE', st, math.max(RATE_SPAN_MS, longest_ban) + slack)
  end
end

local reply = {}
for d = 1, decisions do
  local tr, bl, r = tripped[d], blocking[d], rates[d]
  reply[#reply + 1] = (#tr == 0 and #bl == 0) and 1 or 0
  reply[#reply + 1] = r[1]
  reply[#reply + 1] = r[2]
  reply[#reply + 1] = r[3]
  reply[#reply + 1] = #tr
  reply[#reply + 1] = #bl
  for i = 1, #tr do reply[#reply + 1] = tr[i] end
  for i = 1, #bl do reply[#reply + 1] = bl[i] end
end
return reply
