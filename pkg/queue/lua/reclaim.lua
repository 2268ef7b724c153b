-- Return items whose worker is gone to the end of the queue popped next.
-- An item counts as held while its lease key exists or while the worker that
-- leased it through us is alive. An item that is neither is only reclaimed
-- once it has been seen unheld for at least the grace period: docs workers
-- (rediswq.py) set their lease key just after BRPOPLPUSH, and reclaim must not
-- steal an item in that window.
-- KEYS: 1 queue, 2 processing, 3 holders, 4 workers, 5 unleased, 6 stats, 7 leased_at,
--       8.. lease keys
-- ARGV: 1 grace in milliseconds, 2 "1" when the items are all of processing, 3.. items
-- Returns the number of items reclaimed.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local grace = tonumber(ARGV[1])
local n = 0
local seen = {}
for i = 3, #ARGV do
  local item, lease = ARGV[i], KEYS[i + 5]
  seen[item] = true
  local held = redis.call('EXISTS', lease) == 1
  if not held then
    local owner = redis.call('HGET', KEYS[3], item)
    held = owner and (tonumber(redis.call('ZSCORE', KEYS[4], owner)) or 0) > now
  end
  if held then
    redis.call('HDEL', KEYS[5], item)
  else
    local since = tonumber(redis.call('HGET', KEYS[5], item))
    if not since then
      redis.call('HSET', KEYS[5], item, now)
    elseif now - since >= grace then
      if redis.call('LREM', KEYS[2], -1, item) > 0 then
        redis.call('RPUSH', KEYS[1], item)
        n = n + 1
      end
      redis.call('HDEL', KEYS[5], item)
      redis.call('HDEL', KEYS[3], item)
      redis.call('HDEL', KEYS[7], item)
    end
  end
end
if ARGV[2] == '1' then
  -- Items that left processing by other means (docs workers completing) no
  -- longer need their marks.
  for _, item in ipairs(redis.call('HKEYS', KEYS[5])) do
    if not seen[item] then redis.call('HDEL', KEYS[5], item) end
  end
end
if n > 0 then redis.call('HINCRBY', KEYS[6], 'reclaimed', n) end
return n
