--[[
  Makes the caller the owner of a turn's frames. Each claim raises the turn's epoch: a new
  attempt (a retried job, a stalled job picked up by another worker, a gateway ending a turn
  that ran out of time) takes over, and append-frame refuses every write from an older epoch,
  so a paused-then-revived worker can never interleave with the attempt that replaced it.

  KEYS[1] turn state hash (epoch, next, done)
  KEYS[2] turn log stream (unused here; listed so the script declares every key it governs)
  KEYS[3] turn text (unused here; same reason)
  KEYS[4] cancel marker of the turn
  ARGV[1] TTL of the turn's keys, seconds (the resume window)
  ARGV[2] lowest next seq (optional): a gateway taking over a turn whose state Redis lost
          continues after the last seq its sockets saw, so theirs stays one unbroken sequence

  Output: {epoch, next seq, status} with status 0 open, 1 already ended, 2 cancelled before it
  started (the caller still owns it, to publish the ending).
]]
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then
  return {tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0'), tonumber(redis.call('HGET', KEYS[1], 'next') or '0'), 1}
end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local nextSeq = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local floor = tonumber(ARGV[2] or '0')
if nextSeq < floor then
  nextSeq = floor
  redis.call('HSET', KEYS[1], 'next', nextSeq)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local status = 0
if redis.call('EXISTS', KEYS[4]) == 1 then status = 2 end
return {epoch, nextSeq, status}
