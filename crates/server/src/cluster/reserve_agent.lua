-- Reserve one agent (a direct call, a transfer to her) for a call, atomically: only when her
-- node says she is available and no call is offered to her.
-- ARGV[1]: the agent, ARGV[2]: the call id.
-- Returns 'ok', or her state when she cannot take it ('offline' when no node has her,
-- 'ringing' while another call is offered to her).
local key = 'ap:agent:' .. ARGV[1]
local state = redis.call('HGET', key, 'state')
if not state then
  return 'offline'
end
if redis.call('HGET', key, 'offered') then
  return 'ringing'
end
if redis.call('HGET', key, 'available') ~= '1' then
  return state
end
for _, team in ipairs(redis.call('SMEMBERS', 'ap:teams:' .. ARGV[1])) do
  redis.call('ZREM', 'ap:idle:' .. team, ARGV[1])
end
redis.call('HSET', key, 'offered', ARGV[2])
redis.call('PUBLISH', 'ap:directory', ARGV[1])
return 'ok'
