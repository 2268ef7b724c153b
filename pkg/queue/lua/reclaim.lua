-- Return items whose worker is gone to the end of the queue popped next
-- (holders.lua precedes this). A copy of an item counts as held while the
-- worker that leased it through us is alive or its lease key names that
-- worker; a copy leased by a docs worker (rediswq.py, which records no
-- holder) while its lease key names someone else. A copy that is not held
-- is only reclaimed once it has been seen so for at least the grace period:
-- docs workers set their lease key just after BRPOPLPUSH, and reclaim must
-- not steal an item in that window. Equal items share their lease key and
-- holders field, so an item's copies are counted together.
-- KEYS: 1 queue, 2 processing, 3 holders, 4 workers, 5 unleased, 6 stats, 7 leased_at,
--       8.. lease keys
-- ARGV: 1 grace in milliseconds, 2 "1" when the items are all of processing, 3.. items
-- Returns the number of items reclaimed.
-- It runs once per call of a stream (once.lua): sent again, it would find
-- the items it took back gone and answer that it took none.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local grace = tonumber(ARGV[1])
local n = 0
local copies, first = {}, {}
for i = 3, #ARGV do
  local item = ARGV[i]
  if not copies[item] then
    copies[item] = 0
    first[#first + 1] = i
  end
  copies[item] = copies[item] + 1
end
for _, i in ipairs(first) do
  local item, lease = ARGV[i], KEYS[i + 5]
  local leased_by = redis.call('GET', lease)
  local live, held, ours = {}, 0, false
  for _, s in ipairs(holders_of(redis.call('HGET', KEYS[3], item))) do
    if s == leased_by then ours = true end
    if s == leased_by or (tonumber(redis.call('ZSCORE', KEYS[4], s)) or 0) > now then
      live[#live + 1] = s
      held = held + 1
    end
  end
  if leased_by and not ours then held = held + 1 end
  local unheld = copies[item] - held
  if unheld <= 0 then
    redis.call('HDEL', KEYS[5], item)
  else
    local since = tonumber(redis.call('HGET', KEYS[5], item))
    if not since then
      -- Only an item still in processing (another worker's reclaim may
      -- have taken it since the client read it): a mark left on an item
      -- back in the queue would count toward the grace of the copy a docs
      -- worker pops next, which could then be taken from that worker between
      -- its pop and its lease. Items only move right in processing, so one
      -- read among its last #ARGV - 2 is still among them.
      if redis.call('LPOS', KEYS[2], item, 'RANK', -1, 'MAXLEN', #ARGV - 2) then
        redis.call('HSET', KEYS[5], item, now)
      end
    elseif now - since >= grace then
      for _ = 1, unheld do
        if redis.call('LREM', KEYS[2], -1, item) == 0 then break end
        redis.call('RPUSH', KEYS[1], item)
        n = n + 1
      end
      redis.call('HDEL', KEYS[5], item)
      -- The copies taken back were the gone workers'; the live ones keep theirs.
      if #live > 0 then
        set_holders(KEYS[3], item, table.concat(live, ' '))
      else
        set_holders(KEYS[3], item, false)
        redis.call('HDEL', KEYS[7], item)
      end
    end
  end
end
if ARGV[2] == '1' then
  -- Items that left processing by other means (docs workers completing) no
  -- longer need their marks.
  for _, item in ipairs(redis.call('HKEYS', KEYS[5])) do
    if not copies[item] then redis.call('HDEL', KEYS[5], item) end
  end
end
if n > 0 then redis.call('HINCRBY', KEYS[6], 'reclaimed', n) end
return n
