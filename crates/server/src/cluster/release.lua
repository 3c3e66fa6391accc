-- The offer of call ARGV[2] to agent ARGV[1] is over. ARGV[3]: 'out' (she took it: she stays out
-- of the queues until her node says she is available again), 'stored' (declined, timed out: back
-- in her teams' idle sets if still available, idle since what her node last wrote) or an
-- idle-since in ms. Returns 1, or 0 when that offer was not hers (already released).
local key = 'ap:agent:' .. ARGV[1]
if redis.call('HGET', key, 'offered') ~= ARGV[2] then
  return 0
end
redis.call('HDEL', key, 'offered')
if ARGV[3] ~= 'out' and redis.call('HGET', key, 'available') == '1' then
  local idle = ARGV[3]
  if idle == 'stored' then
    idle = redis.call('HGET', key, 'idle') or '0'
  end
  for _, team in ipairs(redis.call('SMEMBERS', 'ap:teams:' .. ARGV[1])) do
    redis.call('ZADD', 'ap:idle:' .. team, idle, ARGV[1])
  end
end
redis.call('PUBLISH', 'ap:directory', ARGV[1])
return 1
