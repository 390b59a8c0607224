--[[
  Appends one frame to its turn's log and publishes it on the session channel, in one atomic
  step (as Centrifugo's broker writes history and publishes in one call): what the log holds
  is exactly what subscribers were sent, so a client that missed frames can get exactly those.
  Written only when the writer still owns the turn and the frame is the next in order.

  KEYS[1] turn state hash (epoch, next, done)
  KEYS[2] turn log stream: entry id <seq>-1, field f = the envelope
  KEYS[3] turn text: the answer so far, for snapshots
  ARGV[1] epoch of the writer (from claim-turn)
  ARGV[2] seq of this frame
  ARGV[3] the envelope: what subscribers receive and the log keeps
  ARGV[4] the session channel
  ARGV[5] mode: chunk (ARGV[6] is appended to the text), reset (text cleared), end (turn ends)
  ARGV[6] text of a chunk
  ARGV[7] most frames kept in the log (approximate trim)
  ARGV[8] TTL of the turn's keys, seconds

  Output: 1 written; -1 a newer attempt owns the turn; -2 the turn has ended; -3 out of
  order; -4 the turn state is gone (expired, or Redis lost it).
]]
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return -4 end
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then return -2 end
if epoch ~= ARGV[1] then return -1 end
local nextSeq = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if tonumber(ARGV[2]) ~= nextSeq then return -3 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], ARGV[2] .. '-1', 'f', ARGV[3])
redis.call('HSET', KEYS[1], 'next', nextSeq + 1)
local mode = ARGV[5]
if mode == 'reset' then
  redis.call('DEL', KEYS[3])
elseif mode == 'end' then
  redis.call('HSET', KEYS[1], 'done', '1')
elseif ARGV[6] ~= '' then
  redis.call('APPEND', KEYS[3], ARGV[6])
end
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[8])
redis.call('EXPIRE', KEYS[3], ARGV[8])
redis.call('SPUBLISH', ARGV[4], ARGV[3])
return 1
