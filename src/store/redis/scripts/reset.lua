-- Clears one (token, metric) pair: its counts, its event times and its bans; rewrites the
-- token's :ban key from what its other pairs still ban (token-ban.lua), and publishes the
-- token on the lift channel, so every process of the fleet drops it from its deny cache.
--
-- KEYS[1]  its :state key
-- KEYS[2]  its :events key (same hash tag)
-- KEYS[3]  its token's :ban key (same hash tag)
-- KEYS[4…] the :state keys of the token's other metrics (same hash tag)
-- ARGV[1]  the call's deadline, epoch ms on the server's clock: past it the script deletes
--          nothing, publishes nothing and replies HITWARDEN_EXPIRED <TIME>. A bare DEL that
--          reached Redis after the caller was told the reset failed would still wipe what was
--          counted, and the bans started, in between.
-- ARGV[2]  now, epoch ms; '' for the server's TIME
-- ARGV[3]  the lift channel
-- ARGV[4]  the token (the message)
-- ARGV[5…] per key of KEYS[4…], in order, its metric's shadow flags ('0'/'1' per threshold)
-- Reply    the server's TIME, epoch ms

local real = server_time()
local late = expired(real, ARGV[1])
if late then return late end
local now = ARGV[2] == '' and real or tonumber(ARGV[2])
redis.call('DEL', KEYS[1], KEYS[2])
put_ban(KEYS[3], others_end(4, 5, now), now)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return real
