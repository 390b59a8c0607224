--[[
  The response cache's single flight, in one step: the cached answer if there is one; else the
  lock, taken when free. A caller that gets neither waits for the holder's answer.

  KEYS[1] cached answer (JSON)
  KEYS[2] lock of that answer (value: the holder's owner id)
  ARGV[1] owner id of the caller
  ARGV[2] lock lifetime, ms

  Output: {1, answer} a cached answer; {2} the lock is the caller's now; {0, holder} another
  caller holds the lock (holder: its owner id, or false if it lapsed meanwhile).
]]
local answer = redis.call('GET', KEYS[1])
if answer then return {1, answer} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {2} end
return {0, redis.call('GET', KEYS[2])}
