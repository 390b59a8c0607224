--[[
  Claims one socket slot for a session, if the session exists and has a free slot.
  Slots of gateways known dead (ARGV[6..]: the caller read their lapsed custody lease from the
  roster, which lives in another hash slot) are dropped first, then expired leases (sockets of a
  gateway that died without saying goodbye, once their lease runs out).

  KEYS[1] session record key
  KEYS[2] sockets sorted set of the session (member <gatewayId>/<connectionId> -> lease expiry, epoch ms)
  ARGV[1] member: <gatewayId>/<connectionId>
  ARGV[2] now, epoch ms
  ARGV[3] lease expiry, epoch ms
  ARGV[4] max sockets per session
  ARGV[5] TTL of the sockets key, seconds (a session's idle lifetime)
  ARGV[6..] ids of gateways known dead, optional

  Output: -1 session not found; { -2, gateway ids holding its slots... } session full;
  otherwise the number of sockets now open.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if #ARGV > 5 then
  local dead = {}
  for i = 6, #ARGV do dead[ARGV[i]] = true end
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local gateway = string.match(member, '^(.*)/[^/]*$')
    if gateway and dead[gateway] then redis.call('ZREM', KEYS[2], member) end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  local holders, seen = { -2 }, {}
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local gateway = string.match(member, '^(.*)/[^/]*$')
    if gateway and not seen[gateway] then
      seen[gateway] = true
      holders[#holders + 1] = gateway
    end
  end
  return holders
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return redis.call('ZCARD', KEYS[2])
