-- Rates and bans of one (token, metric) pair, read only.
--
-- KEYS[1]  its :state key
-- ARGV[1]  now, epoch ms; '' for the server's TIME
-- ARGV[2]  n, the metric's number of thresholds
-- Reply    now, rate 1m, rate 10m, rate 60m, then per threshold the end of its ban in force
--          (epoch ms) or 0

local now = clock(ARGV[1])
local out = status_of(load(KEYS[1]), now, tonumber(ARGV[2]))
table.insert(out, 1, now)
return out
