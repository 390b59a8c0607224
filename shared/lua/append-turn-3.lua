--[[
  Appends a finished turn to the session history exactly once, however often it is called
  (BullMQ is at-least-once: a retried job may finish twice), and refreshes the session TTL.

  KEYS[1] history list (JSON entries, newest last)
  KEYS[2] done marker of this message id
  KEYS[3] session record key
  ARGV[1] history entry, JSON
  ARGV[2] max turns kept
  ARGV[3] session TTL, seconds

  Output: 1 appended; 0 this message id was already appended.
]]
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) == false then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
