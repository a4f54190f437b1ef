-- Bans one (token, metric) pair at one threshold from now on, counting no event; replies
-- like status.lua with the state after.
--
-- KEYS[1]  its :st key
-- ARGV[1]  now, epoch ms; '' for the server's TIME
-- ARGV[2]  n, the metric's number of thresholds
-- ARGV[3]  the threshold (from 0)
-- ARGV[4]  the ban's duration, ms

local st = KEYS[1]
local now = clock(ARGV[1])
local n = tonumber(ARGV[2])
local duration = tonumber(ARGV[4])
redis.call('HSET', st, 'b' .. ARGV[3], now + duration)
-- Live as long as the ban, and never shorter than what the key already had to live.
local ttl = redis.call('PTTL', st)
redis.call('PEXPIRE', st, math.max(ttl, duration, 1))
local out = read_status(st, now, n)
table.insert(out, 1, now)
return out
