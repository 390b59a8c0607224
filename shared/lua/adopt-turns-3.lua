--[[
  Moves the turns a lapsed gateway was watching into this gateway's custody, but only if its
  lease has indeed lapsed: another gateway may have adopted them first (the hash is then gone),
  or the gateway may have come back and renewed its lease in the meantime.

  KEYS[1] gateways sorted set (gateway id -> lease expiry, ms)
  KEYS[2] the lapsed gateway's held-turns hash (message id -> turn job data JSON)
  KEYS[3] this gateway's held-turns hash
  ARGV[1] the lapsed gateway's id
  ARGV[2] now (ms), optional: the Redis server's clock (TIME) when absent, as renew-custody uses

  Output: the turns moved, as a flat list: message id, job data, message id, job data, ...
]]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if lease and tonumber(lease) > now then
  return {}
end
local held = redis.call('HGETALL', KEYS[2])
-- In slices: unpack() of a long list would overflow Lua's C stack. Even sizes keep pairs whole.
for i = 1, #held, 1000 do
  redis.call('HSET', KEYS[3], unpack(held, i, math.min(i + 999, #held)))
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return held
