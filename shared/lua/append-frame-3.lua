--[[
  Appends one frame to its turn's log and publishes it on the session channel, in one atomic
  step (as Centrifugo's broker writes history and publishes in one call): what the log holds
  is exactly what subscribers were sent, so a client that missed frames can get exactly those.
  Written only when the writer still owns the turn and the frame is the next in order.

  This runs once per frame, so it makes as few calls as it can: the state in one HMGET, and the
  keys' lifetimes renewed only when the caller asks (ARGV[6] > 0: the first frame of an attempt,
  every ending and reset, and at least once a second meanwhile; see TurnFrameWriter) or when
  this frame created the answer-text key. Arguments constant over a turn come first.

  KEYS[1] turn state hash (epoch, next, done)
  KEYS[2] turn log stream: entry id <seq>-1, field f = the envelope
  KEYS[3] turn text: the answer so far, for snapshots
  ARGV[1] epoch of the writer (from claim-turn)
  ARGV[2] the session channel
  ARGV[3] most frames kept in the log (approximate trim)
  ARGV[4] seq of this frame
  ARGV[5] mode: chunk (ARGV[7] is appended to the text), reset (text cleared), end (turn ends)
  ARGV[6] TTL to set on the turn's keys, seconds; 0: leave their lifetimes as they are
  ARGV[7] text of a chunk
  ARGV[8] the envelope: what subscribers receive and the log keeps

  Output: 1 written; -1 a newer attempt owns the turn; -2 the turn has ended; -3 out of
  order; -4 the turn state is gone (expired, or Redis lost it).
]]
local state = redis.call('HMGET', KEYS[1], 'epoch', 'done', 'next')
local epoch = state[1]
if not epoch then return -4 end
if state[2] then return -2 end
if epoch ~= ARGV[1] then return -1 end
local nextSeq = tonumber(state[3] or '0')
if tonumber(ARGV[4]) ~= nextSeq then return -3 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], ARGV[4] .. '-1', 'f', ARGV[8])
local mode = ARGV[5]
if mode == 'end' then
  redis.call('HSET', KEYS[1], 'next', nextSeq + 1, 'done', '1')
else
  redis.call('HSET', KEYS[1], 'next', nextSeq + 1)
end
local ttl = ARGV[6]
local textCreated = false
if mode == 'reset' then
  redis.call('DEL', KEYS[3])
elseif mode == 'chunk' and ARGV[7] ~= '' then
  -- A text as long as this chunk is one this call created: it needs its lifetime now.
  textCreated = redis.call('APPEND', KEYS[3], ARGV[7]) == string.len(ARGV[7])
end
if ttl ~= '0' then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
elseif textCreated then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then redis.call('PEXPIRE', KEYS[3], left) end
end
redis.call('SPUBLISH', ARGV[2], ARGV[8])
return 1
