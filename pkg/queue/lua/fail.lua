-- Record a failed attempt: requeue the item at the back of the queue, or
-- move it to the dead-letter list once it has failed max attempts. The
-- item's errors keep the last few attempts: when, which worker, what error.
-- Of equal items, the caller's own copy (holders.lua precedes this).
-- KEYS: 1 queue, 2 processing, 3 failed, 4 holders, 5 attempts, 6 stats,
--       7 errors, 8 leased_at, 9 lease key
-- ARGV: 1 session, 2 item, 3 max attempts, 4 error message, 5 worker,
--       6 attempts kept in the errors
-- Returns "retry", "dead", or "lost" (another worker holds it now).
local item = ARGV[2]
local h = redis.call('HGET', KEYS[4], item)
if h and not has_holder(h, ARGV[1]) then return 'lost' end
if redis.call('LREM', KEYS[2], 1, item) == 0 then return 'lost' end
local left = without_holder(h, ARGV[1])
set_holders(KEYS[4], item, left)
if not left then redis.call('HDEL', KEYS[8], item) end
if redis.call('GET', KEYS[9]) == ARGV[1] then redis.call('DEL', KEYS[9]) end
local n = redis.call('HINCRBY', KEYS[5], item, 1)
local t = redis.call('TIME')
local history = {}
local old = redis.call('HGET', KEYS[7], item)
if old then
  -- Errors recorded before the history existed are plain strings.
  local ok, decoded = pcall(cjson.decode, old)
  if ok and type(decoded) == 'table' then history = decoded else history = {{error = old}} end
end
history[#history + 1] = {at = t[1] * 1000 + math.floor(t[2] / 1000), worker = ARGV[5], error = ARGV[4], attempt = n}
while #history > tonumber(ARGV[6]) do table.remove(history, 1) end
redis.call('HSET', KEYS[7], item, cjson.encode(history))
if n >= tonumber(ARGV[3]) then
  -- The attempts stay, for 'items' to show, until a retry resets them.
  redis.call('LPUSH', KEYS[3], item)
  redis.call('HINCRBY', KEYS[6], 'deadlettered', 1)
  return 'dead'
end
redis.call('LPUSH', KEYS[1], item)
redis.call('HINCRBY', KEYS[6], 'retried', 1)
return 'retry'
