--[[
  Removes an answered (or abandoned) turn from its session's queue of unanswered turns.
  KEYS[1] turns list of the session
  KEYS[2] parked turns of the session (see begin-turn-10.lua)
  ARGV[1] message id
  Output: the message id now at the head (the next turn to answer) when that turn is parked
  (the caller wakes it, and it is no longer marked), or false: no turn is next, or it is not
  parked (its job is waiting or running already).
]]
redis.call('LREM', KEYS[1], 1, ARGV[1])
local next = redis.call('LINDEX', KEYS[1], 0)
if next and redis.call('SREM', KEYS[2], next) == 1 then return next end
return false
