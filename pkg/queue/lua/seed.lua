-- Push one batch of items onto the queue, all or nothing, at most once and in
-- order within a seeding run.
-- KEYS: 1 queue, 2 processing, 3 stats, 4 progress of the run (see seed_stop.lua),
--       5 meta
-- ARGV: 1 guard ("1" = refuse a drained queue), 2 batch sequence number,
--       3 progress TTL in seconds, 4 the items in the order they are to be
--       worked on, each a MessagePack string, back to back
local seq = tonumber(ARGV[2])
-- A client that resends a batch whose reply it lost (go-redis retries a
-- pipeline on a new connection) must not push it twice; a batch whose
-- predecessor failed must not land after it.
local applied = tonumber(redis.call('GET', KEYS[4])) or 0
if applied < 0 then
  return redis.error_reply('SEEDSTOPPED the run was stopped after batch ' .. (-applied - 1))
end
if seq <= applied then
  return 0
end
if applied > 0 and seq ~= applied + 1 then
  return redis.error_reply('SEEDORDER batch ' .. seq .. ' follows batch ' .. applied)
end
if ARGV[1] == '1' and redis.call('LLEN', KEYS[1]) == 0 and redis.call('LLEN', KEYS[2]) == 0 then
  local seeded = tonumber(redis.call('HGET', KEYS[3], 'seeded')) or 0
  local completed = tonumber(redis.call('HGET', KEYS[3], 'completed')) or 0
  if seeded > 0 or completed > 0 then
    return redis.error_reply('DRAINED ' .. math.max(seeded, completed))
  end
end
-- One argument for the whole batch costs Redis less than one per item.
-- Decode it all before pushing anything; Lua's stack holds at most a few
-- thousand values, so 1000 at a time.
local parts, n, off = {}, 0, 0
while off >= 0 do
  local part = {cmsgpack.unpack_limit(ARGV[4], 1000, off)}
  off = part[1]
  n = n + #part - 1
  parts[#parts + 1] = part
end
-- LPUSH so that workers, which pop from the right, take the items in the
-- given order.
for _, part in ipairs(parts) do
  if #part > 1 then
    redis.call('LPUSH', KEYS[1], unpack(part, 2))
  end
end
redis.call('HINCRBY', KEYS[3], 'seeded', n)
-- The batch that creates the queue gives it its identity (Q:meta epoch), in
-- the same atomic step as its items: a queue whose epoch vanished or changed
-- was lost with Redis' data (restarted empty, flushed), not drained.
if redis.call('HEXISTS', KEYS[5], 'epoch') == 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[5], 'epoch', t[1] .. string.format('%06d', t[2]))
end
redis.call('SET', KEYS[4], seq, 'EX', ARGV[3])
return n
