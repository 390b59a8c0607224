--[[
  Stores a computed answer in the response cache and releases its single-flight lock, in one
  call: what a pipeline of SET, DEL and (for an answer kept for one session) SADD and EXPIRE
  did, as one command object and one reply for the worker instead of four.

  KEYS[1] cached answer (JSON)
  KEYS[2] lock of that answer
  KEYS[3] optional: the session's set of its cache hashes (an answer kept for one session, so
          that erasing the session finds it); absent for an answer shared by every session
  ARGV[1] the answer, JSON
  ARGV[2] TTL of the answer (and of the session's set), seconds
  ARGV[3] the answer's hash, added to KEYS[3] (only read when KEYS[3] is given)

  All keys share one hash tag (RedisKeys.cachedAnswer): one slot on a Redis Cluster.
  Output: 1.
]]
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('DEL', KEYS[2])
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
return 1
