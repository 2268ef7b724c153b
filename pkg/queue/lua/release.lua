-- Give items back at once (a worker shutting down), at the end popped next,
-- without counting an attempt.
-- KEYS: 1 queue, 2 processing, 3 holders, 4 leased_at, 5.. lease keys
-- ARGV: 1 session, 2.. items
local n = 0
for i = #ARGV, 2, -1 do
  local item, lease = ARGV[i], KEYS[i + 3]
  local owner = redis.call('HGET', KEYS[3], item)
  if (not owner or owner == ARGV[1]) and redis.call('LREM', KEYS[2], 1, item) > 0 then
    redis.call('RPUSH', KEYS[1], item)
    redis.call('HDEL', KEYS[3], item)
    redis.call('HDEL', KEYS[4], item)
    if redis.call('GET', lease) == ARGV[1] then redis.call('DEL', lease) end
    n = n + 1
  end
end
return n
