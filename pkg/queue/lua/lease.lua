-- Lease up to N items (lease_items.lua precedes this).
-- KEYS: 1 queue, 2 processing, 3 holders, 4 workers, 5 leased_at
-- ARGV: 1 session, 2 N, 3 lease in milliseconds
-- Returns the leased items.
return lease_items(KEYS[4], KEYS[5])
