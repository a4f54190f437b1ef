-- Bans one (token, metric) pair at one threshold from now on, counting no event; replies
-- like status.lua with the state after.
--
-- KEYS[1]  its :state key
-- ARGV[1]  now, epoch ms; '' for the server's TIME
-- ARGV[2]  n, the metric's number of thresholds
-- ARGV[3]  the threshold (from 0)
-- ARGV[4]  the ban's duration, ms

local key = KEYS[1]
local now = clock(ARGV[1])
local n = tonumber(ARGV[2])
local duration = tonumber(ARGV[4])
local state = load(key)
state.bans[tonumber(ARGV[3])] = now + duration
-- Live as long as the ban, and never shorter than what the key already had to live (its
-- recorded expiry, or its TTL when it has none recorded).
local left = redis.call('PTTL', key)
if left > 0 then state.expires = max(state.expires, now + left) end
store(key, state, now, max(duration, 1))
local out = status_of(state, now, n)
table.insert(out, 1, now)
return out
