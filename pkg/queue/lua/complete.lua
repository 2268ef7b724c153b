-- Mark items done (complete_items.lua precedes this).
-- KEYS: 1 queue, 2 processing, 3 holders, 4 unleased, 5 attempts, 6 stats,
--       7 errors, 8 leased_at, 9.. lease keys
-- ARGV: 1 session, 2.. items (one per lease key)
-- Returns the number of items that were still ours (or nobody's).
return complete_items(2, 9)
