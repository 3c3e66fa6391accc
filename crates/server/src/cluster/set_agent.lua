-- An agent's entry as the node she is registered through sees it: binding, voice channel and
-- state, her teams. Available (registered, voice on, state available) and not offered a call:
-- in her teams' idle sets since the idle-since the node gives; otherwise out of them.
-- ARGV: agent, node, contact, voice (0/1), state, available (0/1), idle-since ms, teams…
local agent = ARGV[1]
local key = 'ap:agent:' .. agent
redis.call('HSET', key, 'node', ARGV[2], 'contact', ARGV[3], 'voice', ARGV[4],
  'state', ARGV[5], 'available', ARGV[6])
local teams_key = 'ap:teams:' .. agent
for _, team in ipairs(redis.call('SMEMBERS', teams_key)) do
  redis.call('ZREM', 'ap:idle:' .. team, agent)
end
redis.call('DEL', teams_key)
local offerable = ARGV[6] == '1' and not redis.call('HGET', key, 'offered')
for i = 8, #ARGV do
  redis.call('SADD', teams_key, ARGV[i])
  if offerable then
    redis.call('ZADD', 'ap:idle:' .. ARGV[i], ARGV[7], agent)
  end
end
redis.call('PUBLISH', 'ap:directory', agent)
return 1
