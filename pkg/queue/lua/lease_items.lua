-- lease_items moves up to N items from the queue to processing and records
-- the session holding them and when, in one atomic step: reclaim never sees
-- them without an owner. Shared by lease.lua and complete_lease.lua, which
-- follow it.
-- KEYS: 1 queue, 2 processing, 3 holders; workers and leased_at are the keys
--       of those names
-- ARGV: 1 session, 2 N, 3 lease in milliseconds
-- Returns the leased items.
local function lease_items(workers, leased_at)
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  local items, holders, times = {}, {}, {}
  for _ = 1, tonumber(ARGV[2]) do
    local item = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
    if not item then break end
    items[#items + 1] = item
    holders[#holders + 1] = item
    holders[#holders + 1] = ARGV[1]
    times[#times + 1] = item
    times[#times + 1] = now
    -- One HSET per hash for many items costs less than one per item;
    -- unpack has a stack limit, so in slices.
    if #holders >= 1000 then
      redis.call('HSET', KEYS[3], unpack(holders))
      redis.call('HSET', leased_at, unpack(times))
      holders, times = {}, {}
    end
  end
  if #holders > 0 then
    redis.call('HSET', KEYS[3], unpack(holders))
    redis.call('HSET', leased_at, unpack(times))
  end
  redis.call('ZADD', workers, now + tonumber(ARGV[3]), ARGV[1])
  return items
end
