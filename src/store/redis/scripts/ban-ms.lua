-- Ms until every enforcing ban of a token, on any metric, has ended; read only.
--
-- KEYS[1]  the token's :ban key
-- ARGV[1]  now, epoch ms; '' for the server's TIME
-- Reply    now, the end of the token's latest enforcing ban (epoch ms; 0: none)

local now = clock(ARGV[1])
return { now, tonumber(redis.call('GET', KEYS[1])) or 0 }
