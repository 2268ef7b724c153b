-- Give items back at once (a worker shutting down), at the end popped next,
-- without counting an attempt. Of equal items, the caller's own copies
-- (holders.lua precedes this).
-- KEYS: 1 queue, 2 processing, 3 holders, 4 leased_at, 5.. lease keys
-- ARGV: 1 session, 2.. items
local n = 0
for i = #ARGV, 2, -1 do
  local item, lease = ARGV[i], KEYS[i + 3]
  local h = redis.call('HGET', KEYS[3], item)
  if (not h or has_holder(h, ARGV[1])) and redis.call('LREM', KEYS[2], 1, item) > 0 then
    redis.call('RPUSH', KEYS[1], item)
    local left = without_holder(h, ARGV[1])
    set_holders(KEYS[3], item, left)
    if not left then redis.call('HDEL', KEYS[4], item) end
    if redis.call('GET', lease) == ARGV[1] then redis.call('DEL', lease) end
    n = n + 1
  end
end
return n
