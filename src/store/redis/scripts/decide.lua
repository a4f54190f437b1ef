-- Decides a batch of events, in order, each atomically: counts the event, evaluates every
-- threshold of its metric, starts the bans it trips, updates the rates. One call carries the
-- decisions that were in flight together for one node (on a cluster, for one master: its
-- slots may differ), all at one instant `now`. Events of the same (token, metric) are
-- handled together: their state is read once and written once, and a threshold is evaluated
-- with O(log K) reads of the event times for K events, with exactly the outcome K separate
-- calls in that order would have had.
--
-- KEYS     per decision: its :state key (the :events key of the pair, when it needs one, is
--          the same key ending in :events instead, and its token's :ban key the part up to
--          the hash tag's end followed by :ban: same {t:<token>} hash tag, same slot); or,
--          when the decisions span several slots of a cluster node, only the first
-- ARGV[1]  now, epoch ms; '' to use the Redis server's TIME (the default: a fleet agrees)
-- ARGV[2]  the call's deadline, epoch ms on the server's clock (TIME, whatever ARGV[1] is):
--          past it the script writes nothing and replies the error HITWARDEN_EXPIRED <TIME>
--          (lib.lua, expired())
-- ARGV[3]  G: 0, or the number of decisions whose :state keys are the last G arguments
--          (then KEYS[1] only routes the call: a cluster refuses KEYS of several slots)
-- ARGV[4]  M, the number of metric configurations that follow, each one JSON array (text, so
--          the client writes the whole call as text):
--            n, ring (max limit + 1), log ttl ms (longest window), refresh window r (1..3),
--            tail (bytes of the :state key after the hash tag: ':<metric>:state'), quota (1:
--            reply each decision's quota), then n × (limit, window ms, duration ms, shadow 0/1)
-- then     per decision, when M > 1: the position (1..M) of its metric's configuration
-- then     when G > 0, the G :state keys
-- Reply    one MessagePack array (one bulk string for the client to parse): the server's
--          TIME (epoch ms), then per decision: passed (1/0), rate 1m, rate 10m, rate 60m,
--          #tripped, #blocking, ban ms (until every enforcing ban of the token, on any metric,
--          has ended; 0: none), then, when its metric's quota is 1, the tightest enforcing
--          threshold (-1: none), its remaining events and its reset ms, then the tripped
--          threshold indexes, then the blocking ones (from 0)
--
-- Shadow thresholds trip and block (they are in the reply's lists, and their bans are kept in
-- the state so that they trip once per ban) but never refuse: only enforcing ones make passed
-- 0, count in ban ms and set the token's :ban key (the end of its latest enforcing ban on any
-- metric, expiring then; read for every decision, raised by a trip that outlasts it).
--
-- Keys of several slots: a key whose slot is not served here (it moved, or is moving) makes
-- Redis stop the script with an error. The reads come first and reach every key the writes
-- may touch (both keys of every pair, and its token's :ban key), so such an error always
-- comes before any write; the client then sends each slot's decisions again on their own.
--
-- Every pair's state is read with one MGET (and the tokens' :ban keys with one EXISTS, then a
-- GET only of those that exist), each written with one SET (a :ban key only by a trip that
-- outlasts it): a pair whose event times fit inline costs nothing more. The :events list of a pair with more recent events has
-- its TTL refreshed when the pair's bucket of rate window r changes, by that bucket's width
-- (1 s, 10 s or 60 s: the largest under a 60th of the longest window) beyond what it needs:
-- once per bucket, not per event.
local TRIM_STEP = 64

-- events_key(state), the :events key of a pair, and ban_key(state, tail), its token's :ban key,
-- come from src/store/redis/keys.ts (the one definition of the key layout), prepended to this
-- script when it is loaded.
-- One TIME per call: the deadline's clock, and the decisions' too unless the caller gives one.
local real = server_time()
local late = expired(real, ARGV[2])
if late then return late end
local now = ARGV[1] == '' and real or tonumber(ARGV[1])
-- Each configuration: the flat array n, ring, log_ttl, r, tail, quota, then (limit, window,
-- duration, shadow) × n.
local configs = {}
local G = tonumber(ARGV[3])
local M = tonumber(ARGV[4])
-- `shadowed`: the configuration has a shadow threshold (else a decision passes exactly when
-- it tripped nothing and nothing blocked it, as before shadow thresholds existed).
for m = 1, M do
  local c = cjson.decode(ARGV[4 + m])
  for th = 1, c[1] do
    if c[6 + 4 * th] == 1 then c.shadowed = true end
  end
  configs[m] = c
end
local at = 5 + M

-- Group the decisions by pair, in order of first appearance: pair i has the :state key
-- states[i], the configuration confs[i] and the decisions dss[i] — a number while it has one
-- (no table per pair), a list from its second.
-- Each pair's token is tok[i], an index into bkeys (the tokens' :ban keys, in order of first
-- appearance).
local states, confs, dss = {}, {}, {}
local pair_of = {}
local tok, bkeys, tok_of = {}, {}, {}
local decisions, keys, first_key = #KEYS, KEYS, 1
if G > 0 then
  decisions, keys, first_key = G, ARGV, #ARGV - G + 1
end
for d = 1, decisions do
  local key = keys[first_key + d - 1]
  local i = pair_of[key]
  if i == nil then
    i = #states + 1
    pair_of[key] = i
    states[i] = key
    local c = M == 1 and configs[1] or configs[tonumber(ARGV[at + d - 1])]
    confs[i] = c
    dss[i] = d
    local bk = ban_key(key, c[5])
    local ti = tok_of[bk]
    if ti == nil then
      ti = #bkeys + 1
      tok_of[bk] = ti
      bkeys[ti] = bk
    end
    tok[i] = ti
  else
    local ds = dss[i]
    if type(ds) == 'number' then
      dss[i] = { ds, d }
    else
      ds[#ds + 1] = d
    end
  end
end

-- Per decision: its three rates; the thresholds it tripped and those blocking it (a list of
-- indexes, made only when there is one).
local rate1, rate2, rate3 = {}, {}, {}
local tripped = {}
local blocking = {}
-- Per decision: for a configuration with shadow thresholds, whether an enforcing threshold
-- refused it (absent otherwise); the end of the enforcing bans it started (absent: none); its
-- quota (threshold, remaining, reset ms), when asked.
local refused, trip_end = {}, {}
local q_th, q_left, q_reset = {}, {}, {}
-- Per token: the end of its enforcing bans in force before this call (its :ban key, or a
-- pair's own state's if later), and what its :ban key holds (both absent: none); whether any
-- token of the call has a ban. Most calls have none: then nothing more is done per token.
local base, held = {}, {}
local banned = false
local function add(lists, d, t)
  local list = lists[d]
  if list == nil then
    lists[d] = { t }
  else
    list[#list + 1] = t
  end
end

-- Every pair's state, read with one MGET, and every token's :ban key, with one EXISTS (in
-- steps: unpack has a stack limit); on several slots, one MGET of the three keys per pair (a
-- command may not span slots), which also makes Redis refuse here, before any write, a pair
-- whose slot is not served by this node. A node importing a slot (a resharding) refuses a
-- command of several of its keys while some are missing (a :ban key usually is), yet serves
-- them one by one: a command refused is made again one key at a time, where a key truly
-- elsewhere fails as before.
local function mget(list, from, to)
  local got = redis.pcall('MGET', unpack(list, from, to))
  if got.err == nil then return got end
  local out = {}
  for i = from, to do out[i - from + 1] = redis.call('GET', list[i]) end
  return out
end
local function exists(list, from, to)
  local got = redis.pcall('EXISTS', unpack(list, from, to))
  if type(got) == 'number' then return got end
  local count = 0
  for i = from, to do count = count + redis.call('EXISTS', list[i]) end
  return count
end
local raws = {}
if G == 0 then
  for from = 1, #states, 500 do
    local part = mget(states, from, min(from + 499, #states))
    for i = 1, #part do raws[from + i - 1] = part[i] end
  end
  -- Few tokens have a :ban key: one EXISTS (a single integer back) tells whether any of the
  -- call's does, and only then are they read.
  local T = #bkeys
  local any = 0
  for from = 1, T, 500 do
    any = any + exists(bkeys, from, min(from + 499, T))
  end
  if any > 0 then
    for from = 1, T, 500 do
      local part = mget(bkeys, from, min(from + 499, T))
      for i = 1, #part do
        local ends = tonumber(part[i])
        if ends then
          local ti = from + i - 1
          base[ti], held[ti] = ends, ends
          if ends > now then banned = true end
        end
      end
    end
  end
else
  for i, state in ipairs(states) do
    local bk = bkeys[tok[i]]
    local events = events_key(state)
    local part = redis.pcall('MGET', state, events, bk)
    if part.err ~= nil then
      -- The :events key is a list, which GET refuses: EXISTS reaches it.
      redis.call('EXISTS', events)
      part = { redis.call('GET', state), false, redis.call('GET', bk) }
    end
    raws[i] = part[1]
    local ends = tonumber(part[3])
    if ends then
      base[tok[i]], held[tok[i]] = ends, ends
      if ends > now then banned = true end
    end
  end
end

-- The pair being decided, for trips() (set per pair).
local cur_v, cur_log, cur_l, cur_last, cur_K, cur_events, cur_length

-- Decision k of the pair (1..K) trips a threshold when its (limit + 1)-th newest event is
-- inside the window: one of the batch's own (k > limit), or old event limit − k (from 0),
-- read inline (cur_log: where the state's times start) or, from the :events list, at
-- K + limit − k after the batch's push. True for k, true for every later k.
local function trips(k, limit, window)
  if k > limit then return true end
  local stamp
  if cur_log ~= nil then
    local j = limit - k + 1
    if j > cur_l then return false end
    stamp = cur_last - cur_v[cur_log + j]
  else
    local i = cur_K + limit - k
    if i >= cur_length then return false end
    stamp = redis.call('LINDEX', cur_events, i)
    if not stamp then return false end
    stamp = tonumber(stamp)
  end
  return stamp > now - window
end

-- The time of the pair's old event j (1: the newest before this call), read like trips() does;
-- nil past the last one kept.
local function old_stamp(j)
  if cur_log ~= nil then
    if j > cur_l then return nil end
    return cur_last - cur_v[cur_log + j]
  end
  local i = cur_K + j - 1
  if i >= cur_length then return nil end
  local stamp = redis.call('LINDEX', cur_events, i)
  return stamp and tonumber(stamp)
end

-- How many of the pair's old events, at most `most`, are after `since`: a binary search over
-- the newest-first times.
local function old_within(most, since)
  local lo, hi = 0, most
  while lo < hi do
    local mid = floor((lo + hi + 1) / 2)
    local stamp = old_stamp(mid)
    if stamp and stamp > since then lo = mid else hi = mid - 1 end
  end
  return lo
end

local EMPTY = {}
local one = { 0 }
-- The new state of each pair is built in this one table (sized up front: Lua 5.1 sizes a
-- table by its constructor), `used` entries long after the last pair: no table per pair.
local o = { FORMAT, 0, 0, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil,
  nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil }
local used = 0
for gi, state in ipairs(states) do
  local c, ds = confs[gi], dss[gi]
  if type(ds) == 'number' then
    one[1] = ds
    ds = one
  end
  local n, ring, log_ttl, refresh_ms = c[1], c[2], c[3], BUCKET_MS[c[4]]
  local ti = tok[gi]
  local K = #ds
  local raw = raws[gi]
  local v = raw and cmsgpack.unpack(raw)
  -- Nothing stored (or in a format this script does not know): a fresh pair.
  if not (type(v) == 'table' and v[1] == FORMAT) then v = { FORMAT, 0, 0, 0, 0, 0, 0, 0 } end
  local last, mode = v[2], v[3]
  local events = mode == 1 and events_key(state) or nil
  -- A clock that stepped back counts in the newest bucket.
  local t = max(now, last)
  o[2] = t
  o[3] = 0
  local on = 3

  -- Rates: each window's buckets, newest first, shifted to t; those that left the window are
  -- dropped (the rest are older still); the K events land in the newest.
  local p = 4
  local before1, before2, before3
  for w = 1, 3 do
    local width = BUCKET_MS[w]
    local shift = floor(t / width) - floor(last / width)
    local count = v[p]
    local sum = 0
    local count_at = on + 1
    local j = 1
    if count > 0 and v[p + 1] + shift == 0 then
      sum = v[p + 2]
      j = 2
    end
    o[on + 2] = 0
    o[on + 3] = sum + K
    on = on + 3
    local kept = 1
    while j <= count do
      local offset = v[p + 2 * j - 1] + shift
      if offset >= BUCKETS then break end
      local events_in = v[p + 2 * j]
      sum = sum + events_in
      o[on + 1] = offset
      o[on + 2] = events_in
      on = on + 2
      kept = kept + 1
      j = j + 1
    end
    o[count_at] = kept
    p = p + 1 + 2 * count
    if w == 1 then before1 = sum elseif w == 2 then before2 = sum else before3 = sum end
  end
  for k = 1, K do
    local d = ds[k]
    rate1[d] = before1 + k
    rate2[d] = before2 + k
    rate3[d] = before3 + k
  end

  -- The event times: inline at v[p + 1 ...] (l of them), or in the list. Nothing in the list
  -- is within the longest window any more once the last write is that old: back inline.
  local log_at, l = p, v[p]
  p = p + 1 + l
  local refresh = false
  cur_v, cur_last, cur_K, cur_events = v, last, K, events
  if mode == 1 and now - last >= log_ttl then
    redis.call('DEL', events)
    mode = 0
  end
  if mode == 0 then
    cur_log, cur_l = log_at, l
  else
    cur_log = nil
    local stamps = {}
    for k = 1, min(K, 500) do stamps[k] = now end
    local length = 0
    for from = 1, K, 500 do
      length = redis.call('LPUSH', events, unpack(stamps, 1, min(500, K - from + 1)))
    end
    cur_length = length
    refresh = length == K or floor(last / refresh_ms) ~= floor(now / refresh_ms)
  end

  -- The bans in force, from v[p + 1 ...].
  local bans = EMPTY
  local b = v[p]
  if b > 0 then
    bans = {}
    for i = 1, b do bans[v[p + 2 * i - 1]] = last + v[p + 2 * i] end
  end
  -- The key's expiry as the last write recorded it (a state written without one: unknown).
  local expires = v[p + 2 * b + 1]
  expires = expires and last + expires or 0

  -- With the quota asked: per threshold, from which of the K decisions its ban is in force
  -- (K + 1: none) and its end.
  local quota = c[6] == 1
  local shadowed = c.shadowed
  local q_from, q_end
  if quota then q_from, q_end = {}, {} end
  for th = 1, n do
    local ban = bans[th - 1] or 0
    local enforcing = c[6 + 4 * th] == 0
    if ban > now then
      for k = 1, K do add(blocking, ds[k], th - 1) end
      if enforcing then
        if shadowed then
          for k = 1, K do refused[ds[k]] = true end
        end
        if ban > (base[ti] or 0) then base[ti] = ban end
        banned = true
      end
      if quota then q_from[th], q_end[th] = 1, ban end
    else
      if quota then q_from[th] = K + 1 end
      local limit, window = c[3 + 4 * th], c[4 + 4 * th]
      local hi = min(K, limit + 1)
      if trips(hi, limit, window) then
        local lo = 1
        while lo < hi do
          local mid = floor((lo + hi) / 2)
          if trips(mid, limit, window) then hi = mid else lo = mid + 1 end
        end
        -- Decision `lo` trips; while its ban holds, later ones are refused; a ban of 0 s
        -- holds nothing, so each later one trips again.
        ban = now + c[5 + 4 * th]
        if bans == EMPTY then bans = {} end
        bans[th - 1] = ban
        add(tripped, ds[lo], th - 1)
        for k = lo + 1, K do add(ban > now and blocking or tripped, ds[k], th - 1) end
        if enforcing then
          if shadowed then
            for k = lo, K do refused[ds[k]] = true end
          end
          if ban > now and ban > (trip_end[ds[lo]] or 0) then
            trip_end[ds[lo]] = ban
            banned = true
          end
        end
        if quota and ban > now then q_from[th], q_end[th] = lo, ban end
      end
    end
  end

  if shadowed then
    for k = 1, K do
      if refused[ds[k]] == nil then refused[ds[k]] = false end
    end
  end

  -- Each decision's quota: per enforcing threshold, `limit` less the events in its window
  -- after that decision (counted up to limit + 1: the decision's own k of this call, all at
  -- now, then the old ones), and when that grows (the oldest counted leaves the window); 0
  -- and the ban's end while its ban is in force. The least remaining wins, ties the lowest
  -- threshold.
  if quota then
    for k = 1, K do q_th[ds[k]] = -1 end
    for th = 1, n do
      if c[6 + 4 * th] == 0 then
        local limit, window = c[3 + 4 * th], c[4 + 4 * th]
        local old = old_within(limit + 1, now - window)
        local oldest = old > 0 and old_stamp(old) or 0
        for k = 1, K do
          local d = ds[k]
          local left, reset
          if k >= q_from[th] then
            left, reset = 0, q_end[th] - now
          else
            local counted = min(limit + 1, k + old)
            left = max(0, limit - counted)
            if counted <= k then
              reset = window
            elseif counted - k == old then
              reset = oldest + window - now
            else
              reset = old_stamp(counted - k) + window - now
            end
          end
          if q_th[d] == -1 or left < q_left[d] then
            q_th[d], q_left[d], q_reset[d] = th - 1, left, reset
          end
        end
      end
    end
  end

  -- The new times inline: the K new ones, then the old ones still inside the longest window,
  -- the newest `ring`; past INLINE, all of them to the list, oldest first.
  local kept = 0
  local count_at = on + 1
  on = on + 1
  if mode == 0 then
    local keep = min(K, ring)
    local rel = t - now
    for k = 1, keep do o[on + k] = rel end
    local oldest = now - log_ttl
    for j = 1, l do
      if keep >= ring then break end
      local stamp = last - v[log_at + j]
      if stamp <= oldest then break end
      keep = keep + 1
      o[on + keep] = t - stamp
    end
    if keep > INLINE then
      events = events or events_key(state)
      local stamps = {}
      for i = keep, 1, -1 do
        stamps[#stamps + 1] = t - o[on + i]
        o[on + i] = nil
      end
      for from = 1, keep, 500 do
        redis.call('LPUSH', events, unpack(stamps, from, min(from + 499, keep)))
      end
      refresh = true
      mode = 1
    else
      kept = keep
      on = on + keep
    end
  end
  o[count_at] = kept
  o[3] = mode
  -- Trimmed (after the reads above) in steps of TRIM_STEP: LTRIM costs about as much for one
  -- entry as for many.
  if cur_log == nil and cur_length > ring + TRIM_STEP then
    redis.call('LTRIM', events, 0, ring - 1)
  end
  if refresh then redis.call('PEXPIRE', events, log_ttl + refresh_ms) end

  -- The bans in force, and the TTL: the state lives as long as the rates, its event times
  -- (it says where they are) or its longest ban.
  local ttl = (mode == 1 or kept > 0) and max(RATE_SPAN_MS, log_ttl) or RATE_SPAN_MS
  count_at = on + 1
  b = 0
  if bans ~= EMPTY then
    for th, ends in pairs(bans) do
      if ends > now then
        o[count_at + 2 * b + 1] = th
        o[count_at + 2 * b + 2] = ends - t
        b = b + 1
        if ends - now > ttl then ttl = ends - now end
      end
    end
  end
  o[count_at] = b
  -- What the previous pair left beyond this one's end is cleared before packing.
  local x = count_at + 2 * b + 1
  for i = x + 1, used do o[i] = nil end
  used = x
  put(state, o, x, t, now, ttl, expires)
end

-- A token's :ban key is raised when its enforcing bans now end later than it says (a trip of
-- this call, or a pair's own ban it did not know of), to live until then.
local dtok
local one_token = #bkeys == 1
if banned then
  -- Each decision's token (unless the call has one token), and the latest end of the bans
  -- its decisions start.
  dtok = {}
  for i, ds in ipairs(one_token and EMPTY or dss) do
    if type(ds) == 'number' then
      dtok[ds] = tok[i]
    else
      for _, d in ipairs(ds) do dtok[d] = tok[i] end
    end
  end
  local latest = {}
  for d, ends in pairs(trip_end) do
    local ti = one_token and 1 or dtok[d]
    if ends > (latest[ti] or 0) then latest[ti] = ends end
  end
  for ti = 1, #bkeys do
    local ends = max(base[ti] or 0, latest[ti] or 0)
    if ends > (held[ti] or 0) and ends > now then
      redis.call('SET', bkeys[ti], ends, 'PX', max(1, ceil(ends - now)))
    end
  end
end

-- Each decision's ban ms: the token's bans before this call and those its decisions started
-- up to this one, in arrival order (0 for all when no token has one).
local reply = { real }
local r = 1
local running = {}
-- With one token and no ban started by this call, every decision's is the same.
local same_ms = 0
if banned and one_token and next(trip_end) == nil then
  same_ms = max(0, (base[1] or 0) - now)
  banned = false
end
for d = 1, decisions do
  local tr, bl = tripped[d], blocking[d]
  local ntr = tr and #tr or 0
  local nbl = bl and #bl or 0
  local ban_ms = same_ms
  if banned then
    local ti = one_token and 1 or dtok[d]
    local ends = running[ti] or base[ti] or 0
    local started = trip_end[d]
    if started and started > ends then ends = started end
    running[ti] = ends
    if ends > now then ban_ms = ends - now end
  end
  local rf = refused[d]
  if rf == nil then
    reply[r + 1] = (ntr == 0 and nbl == 0) and 1 or 0
  else
    reply[r + 1] = rf and 0 or 1
  end
  reply[r + 2] = rate1[d]
  reply[r + 3] = rate2[d]
  reply[r + 4] = rate3[d]
  reply[r + 5] = ntr
  reply[r + 6] = nbl
  reply[r + 7] = ban_ms
  r = r + 7
  if q_th[d] ~= nil then
    reply[r + 1] = q_th[d]
    reply[r + 2] = q_left[d] or 0
    reply[r + 3] = q_reset[d] or 0
    r = r + 3
  end
  for i = 1, ntr do reply[r + i] = tr[i] end
  r = r + ntr
  for i = 1, nbl do reply[r + i] = bl[i] end
  r = r + nbl
end
return cmsgpack.pack(reply)
