--[[
  Appends a batch of frames, each to its own turn's log, and publishes each on its session
  channel: `append-frame-3.lua` once per frame, in the order given, in one call. A worker
  streaming many answers sends the frames of one event-loop turn this way (see FrameBatcher):
  one script call, one command object and one reply for all of them instead of one each.

  Each frame is judged on its own, exactly as `append-frame-3.lua` judges it: written only when
  its writer still owns the turn and it is the next in order; a refused frame does not stop
  the ones after it (they belong to other turns, or are refused in turn by the seq check). Two
  frames of one turn are in the order they were sent, so the second sees the first's write. A
  frame whose commands fail (a key of the wrong type, a server out of memory) gets that error
  as its own reply and the others go on: one turn's broken keys never cost another turn frames.

  On a Redis Cluster a batch holds the frames of one hash slot only (each frame's three keys and
  its channel share their session's hash tag).

  KEYS, three per frame i (from 0): 3i+1 turn state hash, 3i+2 turn log stream, 3i+3 turn text
  ARGV, eight per frame i, as ARGV[1..8] of append-frame-3.lua at 8i+1 .. 8i+8:
    epoch, channel, most frames kept, seq, mode, TTL (0: leave), chunk text, envelope

  Output: one reply per frame, in order: 1 written; -1 a newer attempt owns the turn; -2 the
  turn has ended; -3 out of order; -4 the turn state is gone; an error reply when its
  commands failed.
]]
local function append(k, a)
  local state = redis.call('HMGET', KEYS[k + 1], 'epoch', 'done', 'next')
  local epoch = state[1]
  if not epoch then return -4 end
  if state[2] then return -2 end
  if epoch ~= ARGV[a + 1] then return -1 end
  local nextSeq = tonumber(state[3] or '0')
  if tonumber(ARGV[a + 4]) ~= nextSeq then return -3 end
  redis.call('XADD', KEYS[k + 2], 'MAXLEN', '~', ARGV[a + 3], ARGV[a + 4] .. '-1', 'f', ARGV[a + 8])
  local mode = ARGV[a + 5]
  if mode == 'end' then
    redis.call('HSET', KEYS[k + 1], 'next', nextSeq + 1, 'done', '1')
  else
    redis.call('HSET', KEYS[k + 1], 'next', nextSeq + 1)
  end
  local ttl = ARGV[a + 6]
  local textCreated = false
  if mode == 'reset' then
    redis.call('DEL', KEYS[k + 3])
  elseif mode == 'chunk' and ARGV[a + 7] ~= '' then
    -- A text as long as this chunk is one this call created: it needs its lifetime now.
    textCreated = redis.call('APPEND', KEYS[k + 3], ARGV[a + 7]) == string.len(ARGV[a + 7])
  end
  if ttl ~= '0' then
    redis.call('EXPIRE', KEYS[k + 1], ttl)
    redis.call('EXPIRE', KEYS[k + 2], ttl)
    redis.call('EXPIRE', KEYS[k + 3], ttl)
  elseif textCreated then
    local left = redis.call('PTTL', KEYS[k + 1])
    if left > 0 then redis.call('PEXPIRE', KEYS[k + 3], left) end
  end
  redis.call('SPUBLISH', ARGV[a + 2], ARGV[a + 8])
  return 1
end

local results = {}
for i = 0, #KEYS / 3 - 1 do
  local ok, reply = pcall(append, 3 * i, 8 * i)
  if ok then
    results[i + 1] = reply
  elseif type(reply) == 'table' and reply.err then
    results[i + 1] = reply
  else
    results[i + 1] = { err = tostring(reply) }
  end
end
return results
