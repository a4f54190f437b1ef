-- Clears one (token, metric) pair: its counts, its event times and its bans.
--
-- KEYS[1]  its :state key
-- KEYS[2]  its :events key (same hash tag)
-- ARGV[1]  the call's deadline, epoch ms on the server's clock: past it the script deletes
--          nothing and replies HITWARDEN_EXPIRED <TIME>. A bare DEL that reached Redis after
--          the caller was told the reset failed would still wipe what was counted, and the bans
--          started, in between.
-- Reply    the server's TIME, epoch ms

local real = server_time()
local late = expired(real, ARGV[1])
if late then return late end
redis.call('DEL', KEYS[1], KEYS[2])
return real
