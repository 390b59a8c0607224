--[[
  Renews a gateway's custody lease and lists the gateways whose lease has lapsed. Time is the
  Redis server's (TIME), so gateways whose clocks disagree still agree on who lapsed; a test may
  pass its own `now` instead.

  KEYS[1] gateways sorted set (gateway id -> lease expiry, ms)
  KEYS[2] this gateway's held-turns hash
  ARGV[1] this gateway's id
  ARGV[2] lease, ms
  ARGV[3] how many lapsed gateways to list at most
  ARGV[4] lifetime of the held-turns hash, ms (renewed here: a record no gateway renews goes)
  ARGV[5] now (ms), optional: the server's clock when absent

  Output: { 1 if this gateway was not on the roster (it must record its turns again), lapsed ids... }
]]
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = { added }
for _, id in ipairs(lapsed) do
  if id ~= ARGV[1] then out[#out + 1] = id end
end
return out
