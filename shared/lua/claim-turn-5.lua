--[[
  Makes the caller the owner of a turn's frames. Each claim raises the turn's epoch: a new
  attempt (a retried job, a stalled job picked up by another worker, a gateway ending a turn
  that ran out of time) takes over, and append-frame refuses every write from an older epoch,
  so a paused-then-revived worker can never interleave with the attempt that replaced it.

  The turn is also recorded among its session's recent turns: a gateway whose subscription was
  down while a short turn began and ended finds it there, and replays it from its log.

  KEYS[1] turn state hash (epoch, next, done)
  KEYS[2] turn log stream (unused here; listed so the script declares every key it governs)
  KEYS[3] turn text (unused here; same reason)
  KEYS[4] cancel marker of the turn
  KEYS[5] recent turns of the session (sorted set: message id -> claim time, ms; a claim never
          scores below the newest other turn's, so the order is the order the turns ran)
  ARGV[1] TTL of the turn's keys, seconds (the resume window)
  ARGV[2] lowest next seq: a gateway taking over a turn whose state Redis lost continues after
          the last seq its sockets saw, so theirs stays one unbroken sequence (0: no floor)
  ARGV[3] message id of the turn
  ARGV[4] claim time, ms (the caller's clock)
  ARGV[5] recent turns kept per session

  Output: {epoch, next seq, status} with status 0 open, 1 already ended, 2 cancelled before it
  started (the caller still owns it, to publish the ending).
]]
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then
  return {tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0'), tonumber(redis.call('HGET', KEYS[1], 'next') or '0'), 1}
end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local nextSeq = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local floor = tonumber(ARGV[2])
if nextSeq < floor then
  nextSeq = floor
  redis.call('HSET', KEYS[1], 'next', nextSeq)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
-- Ordered as the session's turns ran, even when two claimers' clocks disagree or share a ms.
local claimedAt = tonumber(ARGV[4])
local newest = redis.call('ZRANGE', KEYS[5], -1, -1, 'WITHSCORES')
if newest[1] and newest[1] ~= ARGV[3] then claimedAt = math.max(claimedAt, tonumber(newest[2]) + 1) end
redis.call('ZADD', KEYS[5], string.format('%d', claimedAt), ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -(tonumber(ARGV[5]) + 1))
redis.call('EXPIRE', KEYS[5], ARGV[1])
local status = 0
if redis.call('EXISTS', KEYS[4]) == 1 then status = 2 end
return {epoch, nextSeq, status}
