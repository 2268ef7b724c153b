-- lease_items moves up to N items from the queue to processing and records
-- the session holding them and when, in one atomic step: reclaim never sees
-- them without an owner. Shared by lease.lua and complete_lease.lua, which
-- follow it (holders.lua precedes it).
-- KEYS: 1 queue, 2 processing, 3 holders; workers and leased_at are the keys
--       of those names
-- ARGV: 1 session, 2 N, 3 lease in milliseconds
-- Returns the leased items.
local function lease_items(workers, leased_at)
  -- A full Redis (maxmemory, noeviction) refuses a script whose first write
  -- may grow memory, but not the writes after one that cannot: this no-op
  -- write lets workers lease, and so drain, a queue that filled Redis up.
  redis.call('PERSIST', KEYS[3])
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  local items, copies, distinct = {}, {}, {}
  for _ = 1, tonumber(ARGV[2]) do
    local item = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
    if not item then break end
    items[#items + 1] = item
    if not copies[item] then
      copies[item] = 0
      distinct[#distinct + 1] = item
    end
    copies[item] = copies[item] + 1
  end
  -- One HMGET and one HSET per hash for many items cost less than calls
  -- per item; unpack has a stack limit, so in slices. Equal items add this
  -- session once per copy to those that hold the item already.
  for j = 1, #distinct, 500 do
    local last = math.min(j + 499, #distinct)
    local old = redis.call('HMGET', KEYS[3], unpack(distinct, j, last))
    local holders, times = {}, {}
    for k = j, last do
      local item = distinct[k]
      local h = old[k - j + 1]
      for _ = 1, copies[item] do
        if h then h = h .. ' ' .. ARGV[1] else h = ARGV[1] end
      end
      holders[#holders + 1] = item
      holders[#holders + 1] = h
      times[#times + 1] = item
      times[#times + 1] = now
    end
    redis.call('HSET', KEYS[3], unpack(holders))
    redis.call('HSET', leased_at, unpack(times))
  end
  redis.call('ZADD', workers, now + tonumber(ARGV[3]), ARGV[1])
  return items
end
