-- The offer of call ARGV[2] to agent ARGV[1] is over (declined, timed out, or she took it and the
-- call ended). If she is still available she goes back into her teams' idle sets, idle since
-- ARGV[3] (ms). Returns 1, or 0 when that offer was not hers (already released).
local key = 'ap:agent:' .. ARGV[1]
if redis.call('HGET', key, 'offered') ~= ARGV[2] then
  return 0
end
redis.call('HDEL', key, 'offered')
if redis.call('HGET', key, 'available') == '1' then
  for _, team in ipairs(redis.call('SMEMBERS', 'ap:teams:' .. ARGV[1])) do
    redis.call('ZADD', 'ap:idle:' .. team, ARGV[3], ARGV[1])
  end
end
redis.call('PUBLISH', 'ap:directory', ARGV[1])
return 1
