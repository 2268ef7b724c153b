-- Stop a seeding run whose replies were lost and say how many of its batches
-- landed. Its batches that reach Redis later (still on their way through the
-- broken connection) are refused from now on, so the answer stays true.
-- KEYS: 1 progress of the run
-- ARGV: 1 progress TTL in seconds
-- The progress key holds the last batch's number, or -(that + 1) once stopped.
-- Sent twice, it answers the same: a stopped run stays stopped.
local applied = tonumber(redis.call('GET', KEYS[1])) or 0
if applied < 0 then
  return -applied - 1
end
redis.call('SET', KEYS[1], -applied - 1, 'EX', ARGV[1])
return applied
