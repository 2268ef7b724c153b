-- Complete items and lease the next ones in one round trip, for a worker that
-- goes straight on (complete_items.lua and lease_items.lua precede this).
-- KEYS: 1 queue, 2 processing, 3 holders, 4 unleased, 5 attempts, 6 stats,
--       7 workers, 8.. lease keys of the completed items
-- ARGV: 1 session, 2 N to lease, 3 lease in milliseconds, 4.. completed items
--       (one per lease key)
-- Returns {number of completed items that were still ours (or nobody's), leased items...}.
local out = {complete_items(4, 8)}
for _, item in ipairs(lease_items(KEYS[7])) do
  out[#out + 1] = item
end
return out
