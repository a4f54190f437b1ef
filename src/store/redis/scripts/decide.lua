-- Decides a batch of events, in order, each atomically: counts the event, evaluates every
-- threshold of its metric, starts the bans it trips, updates the rates. One call carries the
-- decisions that were in flight together for one node (one slot on a cluster), all at one
-- instant `now`. Events of the same (token, metric) are handled together: their state is read
-- once and written once, and a threshold is evaluated with O(log K) reads of the event times
-- for K events, with exactly the outcome K separate calls in that order would have had.
--
-- KEYS     per decision: its :state key, then its :events key (same {t:<token>} hash tag)
-- ARGV[1]  now, epoch ms; '' to use the Redis server's TIME (the default: a fleet agrees)
-- ARGV[2]  M, the number of metric configurations that follow, each:
--            n, ring (max limit + 1), log ttl ms (longest window), refresh window r (1..3),
--            then n × (limit, window ms, duration ms)
-- then     per decision, when M > 1: the position (1..M) of its metric's configuration
-- Reply    one MessagePack array (one bulk string for the client to parse), per decision:
--          passed (1/0), rate 1m, rate 10m, rate 60m, #tripped, #blocking, then the tripped
--          threshold indexes, then the blocking ones (from 0)
--
-- A pair whose event times fit inline costs two calls: GET and SET … PX of its :state key.
-- The :events list of a pair with more recent events has its TTL refreshed when the pair's
-- bucket of rate window r changes, by that bucket's width (1 s, 10 s or 60 s: the largest
-- under a 60th of the longest window) beyond what it needs: once per bucket, not per event.
local TRIM_STEP = 64
local now = clock(ARGV[1])
local configs = {}
local at = 3
local M = tonumber(ARGV[2])
for m = 1, M do
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
  local key = KEYS[2 * d - 1]
  local g = by_key[key]
  if g == nil then
    local c = M == 1 and configs[1] or configs[tonumber(ARGV[at + d - 1])]
    g = { state = key, events = KEYS[2 * d], c = c, ds = {} }
    by_key[key] = g
    groups[#groups + 1] = g
  end
  g.ds[#g.ds + 1] = d
end

-- Per decision: its three rates; the thresholds it tripped and those blocking it (a list of
-- indexes, made only when there is one).
local rate1, rate2, rate3 = {}, {}, {}
local tripped = {}
local blocking = {}
local function add(lists, d, t)
  local list = lists[d]
  if list == nil then
    lists[d] = { t }
  else
    list[#list + 1] = t
  end
end

-- Every pair's state, read with one MGET (in steps: unpack has a stack limit).
local raws = {}
do
  local keys = {}
  for i, g in ipairs(groups) do keys[i] = g.state end
  for from = 1, #keys, 500 do
    local part = redis.call('MGET', unpack(keys, from, math.min(from + 499, #keys)))
    for i = 1, #part do raws[from + i - 1] = part[i] end
  end
end

-- Decision k of a group of K (1..K) trips a threshold when its (limit + 1)-th newest event is
-- inside the window: one of the batch's own (k > limit), or old event limit − k (from 0),
-- read inline from `old` or, from the :events list, at K + limit − k after the batch's push.
-- True for k, true for every later k.
local function trips(k, limit, window, K, old, events, length)
  if k > limit then return true end
  local stamp
  if old ~= nil then
    stamp = old[limit - k + 1]
  else
    local i = K + limit - k
    if i >= length then return false end
    stamp = redis.call('LINDEX', events, i)
    stamp = stamp and tonumber(stamp)
  end
  return stamp ~= nil and stamp ~= false and stamp > now - window
end

for gi, g in ipairs(groups) do
  local c, ds, events = g.c, g.ds, g.events
  local n, ring, log_ttl = c.n, c.ring, c.log_ttl
  local K = #ds
  local state = decode(raws[gi])
  local last = state.t
  -- A clock that stepped back counts in the newest bucket.
  local stamp_at = math.max(now, last)

  -- Rates: drop the buckets that left each window; the K events land in the newest.
  local before = {}
  for w = 1, 3 do
    local idx = math.floor(stamp_at / BUCKET_MS[w])
    local r = state.rates[w]
    local kept = r
    local sum = 0
    if #r > 0 and r[1] <= idx - BUCKETS then
      kept = {}
      for i = 1, #r, 2 do
        if r[i] > idx - BUCKETS then
          kept[#kept + 1] = r[i]
          kept[#kept + 1] = r[i + 1]
        end
      end
      state.rates[w] = kept
    end
    for i = 2, #kept, 2 do sum = sum + kept[i] end
    before[w] = sum
    local top = #kept
    if top > 0 and kept[top - 1] == idx then
      kept[top] = kept[top] + K
    else
      kept[top + 1] = idx
      kept[top + 2] = K
    end
  end
  for k = 1, K do
    local d = ds[k]
    rate1[d] = before[1] + k
    rate2[d] = before[2] + k
    rate3[d] = before[3] + k
  end
  state.t = stamp_at

  -- The event times. In the list, nothing is within the longest window any more once the
  -- last write is that old: the pair goes back inline.
  if state.mode == 1 and now - last >= log_ttl then
    redis.call('DEL', events)
    state.mode = 0
  end
  local old = nil
  local length = 0
  local refresh = false
  if state.mode == 0 then
    old = state.log
  else
    local stamps = {}
    for k = 1, math.min(K, 500) do stamps[k] = now end
    for from = 1, K, 500 do
      length = redis.call('LPUSH', events, unpack(stamps, 1, math.min(500, K - from + 1)))
    end
    refresh = length == K
      or math.floor(last / BUCKET_MS[c.r]) ~= math.floor(now / BUCKET_MS[c.r])
  end

  for t = 1, n do
    local limit, window, duration = c.limit[t], c.window[t], c.duration[t]
    local ban = state.bans[t - 1] or 0
    if ban > now then
      for k = 1, K do add(blocking, ds[k], t - 1) end
    else
      local hi = math.min(K, limit + 1)
      if trips(hi, limit, window, K, old, events, length) then
        local lo = 1
        while lo < hi do
          local mid = math.floor((lo + hi) / 2)
          if trips(mid, limit, window, K, old, events, length) then hi = mid else lo = mid + 1 end
        end
        -- Decision `lo` trips; while its ban holds, later ones are refused; a ban of 0 s
        -- holds nothing, so each later one trips again.
        ban = now + duration
        state.bans[t - 1] = ban
        add(tripped, ds[lo], t - 1)
        for k = lo + 1, K do
          add(ban > now and blocking or tripped, ds[k], t - 1)
        end
      end
    end
  end

  if state.mode == 0 then
    -- The K new times, then the old ones still inside the longest window, the newest `ring`.
    local log = {}
    local keep = math.min(K, ring)
    for k = 1, keep do log[k] = now end
    for i = 1, #old do
      if keep >= ring or old[i] <= now - log_ttl then break end
      keep = keep + 1
      log[keep] = old[i]
    end
    if keep > INLINE then
      -- Too many to carry inline (only when a limit needs more than INLINE): to the list,
      -- oldest first so the newest ends up at its head.
      local stamps = {}
      for i = keep, 1, -1 do stamps[#stamps + 1] = log[i] end
      for from = 1, #stamps, 500 do
        redis.call('LPUSH', events, unpack(stamps, from, math.min(from + 499, #stamps)))
      end
      refresh = true
      state.mode = 1
      log = {}
    end
    state.log = log
  else
    -- Trimmed in steps of TRIM_STEP: LTRIM costs about as much for one entry as for many.
    if length > ring + TRIM_STEP then redis.call('LTRIM', events, 0, ring - 1) end
  end
  if refresh then redis.call('PEXPIRE', events, log_ttl + BUCKET_MS[c.r]) end

  -- The state lives as long as the rates, its event times (it says where they are) or its
  -- longest ban.
  local ttl = RATE_SPAN_MS
  if (state.mode == 1 or #state.log > 0) and log_ttl > ttl then ttl = log_ttl end
  for _, ends in pairs(state.bans) do
    if ends - now > ttl then ttl = ends - now end
  end
  store(g.state, state, now, ttl)
end

local reply = {}
local at_reply = 0
for d = 1, decisions do
  local tr, bl = tripped[d], blocking[d]
  local ntr = tr and #tr or 0
  local nbl = bl and #bl or 0
  reply[at_reply + 1] = (ntr == 0 and nbl == 0) and 1 or 0
  reply[at_reply + 2] = rate1[d]
  reply[at_reply + 3] = rate2[d]
  reply[at_reply + 4] = rate3[d]
  reply[at_reply + 5] = ntr
  reply[at_reply + 6] = nbl
  at_reply = at_reply + 6
  for i = 1, ntr do reply[at_reply + i] = tr[i] end
  at_reply = at_reply + ntr
  for i = 1, nbl do reply[at_reply + i] = bl[i] end
  at_reply = at_reply + nbl
end
return cmsgpack.pack(reply)
