-- Move up to N items from the queue to processing and record the session
-- holding them, in one atomic step: reclaim never sees them without an owner.
-- KEYS: 1 queue, 2 processing, 3 holders, 4 workers
-- ARGV: 1 session, 2 N, 3 lease in milliseconds
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local items = {}
for _ = 1, tonumber(ARGV[2]) do
  local item = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
  if not item then break end
  redis.call('HSET', KEYS[3], item, ARGV[1])
  items[#items + 1] = item
end
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), ARGV[1])
return items
