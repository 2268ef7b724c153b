-- Move failed items back to the queue, behind the pending items, with their
-- attempts reset; their errors stay. The caller read the items at the given
-- places of the failed list: each is moved only if it is still there (or,
-- should the list have shifted, elsewhere in it), so nothing is moved twice
-- and nothing is invented.
-- KEYS: 1 failed, 2 queue, 3 attempts, 4 stats
-- ARGV: 1 a marker that is no item, then pairs: index in the failed list
--       (negative: from the right end), item; oldest failure first
-- Returns, per pair, 1 if the item was moved, 0 if it was not in the failed list.
local moved, marked, missed = {}, 0, {}
for i = 2, #ARGV, 2 do
  local index, item = ARGV[i], ARGV[i + 1]
  moved[#moved + 1] = 0
  -- Mark first, remove all marks at the end: removing one by one would
  -- shift the places of the others.
  if redis.call('LINDEX', KEYS[1], index) == item then
    redis.call('LSET', KEYS[1], index, ARGV[1])
    marked = marked + 1
    moved[#moved] = 1
  else
    missed[#missed + 1] = #moved
  end
end
if marked > 0 then redis.call('LREM', KEYS[1], -marked, ARGV[1]) end
for _, m in ipairs(missed) do
  if redis.call('LREM', KEYS[1], -1, ARGV[2 * m + 1]) == 1 then moved[m] = 1 end
end
local n = 0
for m, ok in ipairs(moved) do
  if ok == 1 then
    local item = ARGV[2 * m + 1]
    redis.call('LPUSH', KEYS[2], item)
    -- 0, not absent: completing the item then also drops its errors.
    redis.call('HSET', KEYS[3], item, 0)
    n = n + 1
  end
end
if n > 0 then redis.call('HINCRBY', KEYS[4], 'requeued', n) end
return moved
