-- The entries of nodes that are no longer alive: every node runs this each lease / 3. A node's
-- `ap:alive:<node>` expires one lease after its last renewal; once it is gone, the agents whose
-- entry that node wrote last (`ap:members:<node>`) go offline and out of their teams' idle sets,
-- so no node offers them a call through a dead node's registration. A phone that registers
-- again (through a live node) writes her entry anew. Redis runs the script alone: a node that
-- renews its key meanwhile is either swept entirely before or not at all.
-- ARGV[1]: the node running it (never swept by itself).
-- Returns how many entries went offline.
local swept = 0
for _, node in ipairs(redis.call('SMEMBERS', 'ap:nodes')) do
  if node ~= ARGV[1] and redis.call('EXISTS', 'ap:alive:' .. node) == 0 then
    local members = 'ap:members:' .. node
    for _, agent in ipairs(redis.call('SMEMBERS', members)) do
      local key = 'ap:agent:' .. agent
      if redis.call('HGET', key, 'node') == node and redis.call('HGET', key, 'state') ~= 'offline' then
        redis.call('HSET', key, 'voice', '0', 'state', 'offline', 'available', '0')
        for _, team in ipairs(redis.call('SMEMBERS', 'ap:teams:' .. agent)) do
          redis.call('ZREM', 'ap:idle:' .. team, agent)
        end
        redis.call('PUBLISH', 'ap:directory', agent)
        swept = swept + 1
      end
    end
    redis.call('DEL', members)
    redis.call('SREM', 'ap:nodes', node)
  end
end
return swept
