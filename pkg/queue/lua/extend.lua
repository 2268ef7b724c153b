-- Renew a worker's leases and its liveness while work is still running
-- (holders.lua precedes this).
-- KEYS: 1 holders, 2 workers, 3.. lease keys
-- ARGV: 1 session, 2 lease in milliseconds, 3.. items
-- Returns, per item, 1 if still ours (renewed) or 0 if lost to another worker.
-- Sent twice (its reply lost, the call sent again), it renews the same
-- leases and liveness a moment later and answers for them as they are then:
-- no run of it needs to be told from another.
-- A no-op write first, so that a full Redis lets the renewals through (see
-- lease_items.lua): a worker must keep its items while the queue drains.
redis.call('PERSIST', KEYS[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
-- Forget workers that have been silent for an hour.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600000)
local held = {}
for i = 3, #ARGV do
  local lease = KEYS[i]
  if has_holder(redis.call('HGET', KEYS[1], ARGV[i]), ARGV[1]) or redis.call('GET', lease) == ARGV[1] then
    redis.call('SET', lease, ARGV[1], 'PX', ARGV[2])
    held[#held + 1] = 1
  else
    held[#held + 1] = 0
  end
end
return held
