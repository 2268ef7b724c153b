-- Complete items and lease the next ones in one round trip: what
-- complete.lua and then lease.lua do, for a worker that goes straight on.
-- KEYS: 1 queue, 2 processing, 3 holders, 4 unleased, 5 attempts, 6 stats,
--       7 workers, 8.. lease keys of the completed items
-- ARGV: 1 session, 2 N to lease, 3 lease in milliseconds, 4.. completed items
--       (one per lease key)
-- Returns {number of completed items that were still ours (or nobody's), leased items...}.
local done = 0
for i = 4, #ARGV do
  local item, lease = ARGV[i], KEYS[i + 4]
  local owner = redis.call('HGET', KEYS[3], item)
  if not owner or owner == ARGV[1] then
    local removed = redis.call('LREM', KEYS[2], 1, item)
    if removed == 0 then
      if redis.call('LPOS', KEYS[1], item, 'RANK', -1, 'MAXLEN', 1000) then
        removed = redis.call('LREM', KEYS[1], -1, item)
      end
    end
    if redis.call('GET', lease) == ARGV[1] then redis.call('DEL', lease) end
    redis.call('HDEL', KEYS[3], item)
    redis.call('HDEL', KEYS[4], item)
    redis.call('HDEL', KEYS[5], item)
    if removed > 0 then done = done + 1 end
  end
end
if done > 0 then redis.call('HINCRBY', KEYS[6], 'completed', done) end

local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = {done}
for _ = 1, tonumber(ARGV[2]) do
  local item = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
  if not item then break end
  redis.call('HSET', KEYS[3], item, ARGV[1])
  out[#out + 1] = item
end
redis.call('ZADD', KEYS[7], now + tonumber(ARGV[3]), ARGV[1])
return out
