--[[
  Claims one socket slot for a session, if the session exists and has a free slot.
  Expired leases (sockets of a gateway that died without saying goodbye) are dropped first.

  KEYS[1] session record key
  KEYS[2] sockets sorted set of the session (member -> lease expiry, epoch ms)
  ARGV[1] member: <gatewayId>/<connectionId>
  ARGV[2] now, epoch ms
  ARGV[3] lease expiry, epoch ms
  ARGV[4] max sockets per session
  ARGV[5] TTL of the sockets key, seconds (a session's idle lifetime)

  Output: -1 session not found; -2 session full; otherwise the number of sockets now open.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return redis.call('ZCARD', KEYS[2])
