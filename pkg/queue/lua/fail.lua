-- Record a failed attempt: requeue the item at the back of the queue, or
-- move it to the dead-letter list once it has failed max attempts.
-- KEYS: 1 queue, 2 processing, 3 failed, 4 holders, 5 attempts, 6 stats, 7 errors, 8 lease key
-- ARGV: 1 session, 2 item, 3 max attempts, 4 error message
-- Returns "retry", "dead", or "lost" (another worker holds it now).
local item = ARGV[2]
local owner = redis.call('HGET', KEYS[4], item)
if owner and owner ~= ARGV[1] then return 'lost' end
if redis.call('LREM', KEYS[2], 1, item) == 0 then return 'lost' end
redis.call('HDEL', KEYS[4], item)
if redis.call('GET', KEYS[8]) == ARGV[1] then redis.call('DEL', KEYS[8]) end
redis.call('HSET', KEYS[7], item, ARGV[4])
local n = redis.call('HINCRBY', KEYS[5], item, 1)
if n >= tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[5], item)
  redis.call('LPUSH', KEYS[3], item)
  redis.call('HINCRBY', KEYS[6], 'deadlettered', 1)
  return 'dead'
end
redis.call('LPUSH', KEYS[1], item)
redis.call('HINCRBY', KEYS[6], 'retried', 1)
return 'retry'
