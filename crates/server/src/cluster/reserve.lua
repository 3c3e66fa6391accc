-- Reserve the longest-idle available member of a team for a call, atomically (Redis runs a
-- script alone): two nodes never get the same agent.
-- KEYS[1]: ap:idle:<team>. ARGV[1]: the call id.
-- Returns the agent's name, or false when nobody in the team is available.
local picked = redis.call('ZRANGE', KEYS[1], 0, 0)
if #picked == 0 then
  return false
end
local agent = picked[1]
-- Out of every team's idle set: she is offered one call at a time.
for _, team in ipairs(redis.call('SMEMBERS', 'ap:teams:' .. agent)) do
  redis.call('ZREM', 'ap:idle:' .. team, agent)
end
redis.call('HSET', 'ap:agent:' .. agent, 'offered', ARGV[1])
redis.call('PUBLISH', 'ap:directory', agent)
return agent
