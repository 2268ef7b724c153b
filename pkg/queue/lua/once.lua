-- once runs body, the script proper, at most once per call of a stream
-- (queue.Stream), however often the call is sent: go-redis sends a command
-- again on a new connection when its reply was lost on the way back, and a
-- worker sends a failed call again, while Redis may well have run the first.
-- A stream makes one call at a time, numbered 1, 2, ...; its record key holds
-- the number of its last call that ran and that call's reply. The same call
-- sent again gets that reply and changes nothing; an older one (a copy that
-- reaches Redis late, through a connection that broke long ago) is refused.
-- The record key is the last of KEYS, the call's number and how long the
-- record is kept (ms) the last two of ARGV: once takes them off, so that the
-- script proper sees only its own.
local function once(body)
  local ttl = table.remove(ARGV)
  local seq = tonumber(table.remove(ARGV))
  local record = table.remove(KEYS)
  local applied = tonumber(string.match(redis.call('GETRANGE', record, 0, 19), '^%d+')) or 0
  if seq == applied then
    local v = redis.call('GET', record)
    return cmsgpack.unpack(string.sub(v, string.find(v, ' ', 1, true) + 1))
  end
  if seq < applied then
    return redis.error_reply('STALE call ' .. seq .. ' of a stream that made call ' .. applied)
  end
  local reply = body()
  -- A full Redis (maxmemory, noeviction) refuses the record only when it is
  -- a script's first write that may grow memory: when body changed nothing,
  -- and so needs no record, as running it again is running it once.
  redis.pcall('SET', record, seq .. ' ' .. cmsgpack.pack(reply), 'PX', ttl)
  return reply
end
