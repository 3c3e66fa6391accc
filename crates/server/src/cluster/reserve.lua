-- Reserve the longest-idle available member of a team for a call, atomically (Redis runs a
-- script alone): two nodes never get the same agent.
-- KEYS[1]: ap:idle:<team>. ARGV[1]: the call id; ARGV[2..]: members not to offer it to (already
-- tried by this call).
-- Returns the agent's name, or false when nobody in the team is available.
local skip = {}
for i = 2, #ARGV do
  skip[ARGV[i]] = true
end
local agent = nil
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not skip[name] then
    agent = name
    break
  end
end
if not agent then
  return false
end
-- Out of every team's idle set: she is offered one call at a time.
for _, team in ipairs(redis.call('SMEMBERS', 'ap:teams:' .. agent)) do
  redis.call('ZREM', 'ap:idle:' .. team, agent)
end
redis.call('HSET', 'ap:agent:' .. agent, 'offered', ARGV[1])
redis.call('PUBLISH', 'ap:directory', agent)
return agent
