-- complete_items marks items done: removes them from processing and drops
-- their lease, attempts and errors, unless another worker has taken them over
-- since our lease was lost. Each copy of equal items is the worker's that
-- leased it (holders.lua, which precedes this). Shared by complete.lua and
-- complete_lease.lua, which follow it.
-- KEYS: 1 queue, 2 processing, 3 holders, 4 unleased, 5 attempts, 6 stats,
--       7 errors, 8 leased_at; the lease keys of the items from
--       KEYS[first_lease] on
-- ARGV: 1 session; the items from ARGV[first_item] on (one per lease key)
-- Returns the number of items that were still ours (or nobody's).
local function complete_items(first_item, first_lease)
  local done = 0
  local mine = {}
  -- The holders field of each item, as read and then as this call leaves
  -- it (false: none), so that copies of one item in one call see each other.
  local holders, touched, listed = {}, {}, {}
  for i = first_item, #ARGV do
    local item, lease = ARGV[i], KEYS[first_lease + i - first_item]
    if holders[item] == nil then holders[item] = redis.call('HGET', KEYS[3], item) end
    local h = holders[item]
    -- Ours, or nobody's: a docs worker's copy, or one that reclaim took back.
    if not h or has_holder(h, ARGV[1]) then
      local removed = redis.call('LREM', KEYS[2], 1, item)
      if removed == 0 then
        -- Our lease expired and the item was reclaimed; reclaimed items are
        -- pushed at the popping end, so look only there.
        if redis.call('LPOS', KEYS[1], item, 'RANK', -1, 'MAXLEN', 1000) then
          removed = redis.call('LREM', KEYS[1], -1, item)
        end
      end
      if redis.call('GET', lease) == ARGV[1] then redis.call('DEL', lease) end
      mine[#mine + 1] = item
      if h then
        holders[item] = without_holder(h, ARGV[1])
        if not listed[item] then
          listed[item] = true
          touched[#touched + 1] = item
        end
      end
      if removed > 0 then done = done + 1 end
    end
  end
  -- One HDEL per hash for many items costs less than one per item; unpack
  -- has a stack limit, so in slices.
  for j = 1, #mine, 1000 do
    local last = math.min(j + 999, #mine)
    for _, k in ipairs({4, 5, 7, 8}) do
      redis.call('HDEL', KEYS[k], unpack(mine, j, last))
    end
  end
  local gone = {}
  for _, item in ipairs(touched) do
    if holders[item] then
      redis.call('HSET', KEYS[3], item, holders[item]) -- other copies' holders
    else
      gone[#gone + 1] = item
    end
  end
  for j = 1, #gone, 1000 do
    redis.call('HDEL', KEYS[3], unpack(gone, j, math.min(j + 999, #gone)))
  end
  if done > 0 then redis.call('HINCRBY', KEYS[6], 'completed', done) end
  return done
end
