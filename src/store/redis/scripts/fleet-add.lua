-- Adds one batch of per-address request deltas to a period's fleet-wide totals, once.
--
-- KEYS[1]  the period's sorted set (one shard of it): member = packed address, score = -count
--          (negated so that ZRANGE lists the most requests first and, on equal counts, the
--          lowest address first: members are packed so that byte order is address order)
-- KEYS[2]  this batch's marker: set when the batch is applied, so a retried batch is skipped
-- ARGV[1]  lifetime of the sorted set from now, milliseconds (two period lengths)
-- ARGV[2]  marker lifetime, seconds (how long a retry of this batch is recognised)
-- ARGV[3], ARGV[4], ...  member, count pairs
--
-- Both keys share the hash tag {period:shard}, so they live in one cluster slot.
-- Reply: 1 when applied, 0 when the batch had been applied before.
--
-- No deadline, unlike the BanHammer's writing scripts: a chunk applied after its caller gave
-- up is not applied twice, since the batch stays queued in FleetSync and its resending finds
-- the marker; and applying it late is right, as its requests did happen.

local totals = KEYS[1]
local marker = KEYS[2]
local ttl_ms = ARGV[1]
local marker_ttl = ARGV[2]

if not redis.call('SET', marker, '1', 'NX', 'EX', marker_ttl) then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('ZINCRBY', totals, -tonumber(ARGV[i + 1]), ARGV[i])
end
redis.call('PEXPIRE', totals, ttl_ms)
return 1
