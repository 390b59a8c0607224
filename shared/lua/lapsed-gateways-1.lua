--[[
  Which of the given gateways are known dead: their custody lease has lapsed, or they are off
  the roster (a lapsed gateway is taken off once its turns are adopted; a live one rejoins at
  its next renewal). Time is the Redis server's (TIME), as renew-custody judges leases. Reads
  only.

  KEYS[1] gateways sorted set (gateway id -> lease expiry, ms)
  ARGV[1..] gateway ids

  Output: the ids among ARGV whose lease has lapsed or who are not on the roster.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #ARGV do
  local lease = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not lease or tonumber(lease) <= now then out[#out + 1] = ARGV[i] end
end
return out
