-- An agent's entry as the node she is registered through sees it: binding, voice channel and
-- state, her teams. Available (registered, voice on, state available) and not offered a call:
-- in her teams' idle sets since the idle-since the node gives; otherwise out of them.
-- An offline entry from a node that is not the one she is registered through is stale (she
-- moved to another node): ignored.
-- ARGV: agent, node, contact, voice (0/1), state, available (0/1), idle-since ms, teams…
-- Returns 1, or 0 when ignored.
local agent = ARGV[1]
local key = 'ap:agent:' .. agent
if ARGV[5] == 'offline' then
  local node = redis.call('HGET', key, 'node')
  if node and node ~= ARGV[2] then
    return 0
  end
end
-- The node's members (what `sweep.lua` puts offline when that node is gone).
local before = redis.call('HGET', key, 'node')
if before and before ~= ARGV[2] then
  redis.call('SREM', 'ap:members:' .. before, agent)
end
redis.call('SADD', 'ap:members:' .. ARGV[2], agent)
redis.call('HSET', key, 'node', ARGV[2], 'contact', ARGV[3], 'voice', ARGV[4],
  'state', ARGV[5], 'available', ARGV[6], 'idle', ARGV[7])
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
