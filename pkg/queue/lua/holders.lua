-- Equal items (duplicates) share one field of the holders hash: its value
-- names a session for each copy of the item that a worker leased through
-- us, separated by spaces (sessions hold none). Each copy is then settled
-- by the worker that leased it, once, and reclaim takes back only the copies
-- of workers that are gone. Shared by the scripts that follow it. The usual
-- field names one session, and costs what a plain session would.

-- holders_of splits a field's value h (false when absent): one session per copy.
local function holders_of(h)
  local out = {}
  if h then
    for s in string.gmatch(h, '%S+') do out[#out + 1] = s end
  end
  return out
end

-- has_holder says whether the field's value h names session.
local function has_holder(h, session)
  if not h then return false end
  return h == session or string.find(' ' .. h .. ' ', ' ' .. session .. ' ', 1, true) ~= nil
end

-- without_holder is the field's value h with one copy of session's taken
-- out; false when no copy is left.
local function without_holder(h, session)
  if not h or h == session then return false end
  local sessions = holders_of(h)
  for i, s in ipairs(sessions) do
    if s == session then
      table.remove(sessions, i)
      break
    end
  end
  if #sessions == 0 then return false end
  return table.concat(sessions, ' ')
end

-- set_holders stores the field's value h (false: none) for item.
local function set_holders(holders, item, h)
  if h then
    redis.call('HSET', holders, item, h)
  else
    redis.call('HDEL', holders, item)
  end
end
