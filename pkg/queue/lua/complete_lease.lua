-- Complete items and lease the next ones in one round trip, for a worker that
-- goes straight on (complete_items.lua and lease_items.lua precede this).
-- KEYS: 1 queue, 2 processing, 3 holders, 4 unleased, 5 attempts, 6 stats,
--       7 errors, 8 leased_at, 9 workers, 10.. lease keys of the completed items
-- ARGV: 1 session, 2 N to lease, 3 lease in milliseconds, 4.. completed items
--       (one per lease key)
-- Returns {number of completed items that were still ours (or nobody's), leased items...}.
local out = {complete_items(4, 10)}
for _, item in ipairs(lease_items(KEYS[9], KEYS[8])) do
  out[#out + 1] = item
end
return out
