--[[
  Removes an answered (or abandoned) turn from its session's queue of unanswered turns.

  KEYS[1] turns list of the session
  ARGV[1] message id

  Output: the message id now at the head (the next turn to answer), or false if none.
]]
redis.call('LREM', KEYS[1], 1, ARGV[1])
return redis.call('LINDEX', KEYS[1], 0)
