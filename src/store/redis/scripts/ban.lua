-- Bans one (token, metric) pair at one threshold from now on, counting no event; replies
-- like status.lua with the state after, preceded by the server's TIME. The token's :ban key
-- is rewritten from all its pairs (token-ban.lua), when the ban is enforcing: it replaces the
-- threshold's previous one (which, on a clock stepped back, may have ended later), and a key
-- lost or written by an older version is made whole again.
--
-- KEYS[1]  its :state key
-- KEYS[2]  its token's :ban key (same hash tag)
-- KEYS[3…] the :state keys of the token's other metrics (same hash tag)
-- ARGV[1]  now, epoch ms; '' for the server's TIME
-- ARGV[2]  the call's deadline, epoch ms on the server's clock: past it the script writes
--          nothing and replies HITWARDEN_EXPIRED <TIME> (a ban applied after the caller was
--          told it failed would ban with no action run)
-- ARGV[3]  n, the metric's number of thresholds
-- ARGV[4]  the threshold (from 0)
-- ARGV[5]  the ban's duration, ms
-- ARGV[6]  the metric's shadow flags ('0'/'1' per threshold)
-- ARGV[7…] per key of KEYS[3…], in order, its metric's shadow flags
-- Reply    TIME (epoch ms), now, rate 1m, rate 10m, rate 60m, then per threshold the end of
--          its ban in force (epoch ms) or 0

local key = KEYS[1]
local real = server_time()
local late = expired(real, ARGV[2])
if late then return late end
local now = ARGV[1] == '' and real or tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local threshold = tonumber(ARGV[4])
local duration = tonumber(ARGV[5])
local state = load(key)
state.bans[threshold] = now + duration
-- Live as long as the ban, and never shorter than what the key already had to live (its
-- recorded expiry, or its TTL when it has none recorded).
local left = redis.call('PTTL', key)
if left > 0 then state.expires = max(state.expires, now + left) end
store(key, state, now, max(duration, 1))

if string.sub(ARGV[6], threshold + 1, threshold + 1) == '0' then
  local held = tonumber(redis.call('GET', KEYS[2])) or 0
  local ends = max(enforcing_end(state, ARGV[6], now), others_end(3, 7, now))
  if ends ~= held then put_ban(KEYS[2], ends, now) end
end

local out = status_of(state, now, n)
table.insert(out, 1, now)
table.insert(out, 1, real)
return out
