-- Push one batch of items onto the queue, all or nothing, and record progress.
-- KEYS: 1 queue, 2 processing, 3 stats, 4 progress
-- ARGV: 1 guard ("1" = refuse a drained queue), 2 batch sequence number,
--       3 progress TTL in seconds, 4.. items in the order they are to be worked on
if ARGV[1] == '1' and redis.call('LLEN', KEYS[1]) == 0 and redis.call('LLEN', KEYS[2]) == 0 then
  local seeded = tonumber(redis.call('HGET', KEYS[3], 'seeded')) or 0
  local completed = tonumber(redis.call('HGET', KEYS[3], 'completed')) or 0
  if seeded > 0 or completed > 0 then
    return redis.error_reply('DRAINED ' .. math.max(seeded, completed))
  end
end
-- LPUSH so that workers, which pop from the right, take the items in the
-- given order. unpack has a stack limit, so push in slices.
local n = #ARGV - 3
local i = 4
while i <= #ARGV do
  local j = math.min(i + 999, #ARGV)
  redis.call('LPUSH', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
redis.call('HINCRBY', KEYS[3], 'seeded', n)
redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[3])
return n
