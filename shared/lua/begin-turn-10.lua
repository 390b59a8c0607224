--[[
  A worker's start of a turn in one step (every key is the session's, one hash slot): checks
  that the turn is its session's head (only the oldest unanswered turn of a session runs), and
  if so claims its frames exactly as claim-turn-5.lua does and reads the session and its recent
  history for the prompt. A turn behind another is not claimed: the caller parks it.

  KEYS[1] turns list of the session (unanswered message ids, oldest first)
  KEYS[2] session record key
  KEYS[3] history list of the session (JSON entries, newest last)
  KEYS[4] turn state hash (epoch, next, done)
  KEYS[5] turn log stream (unused here; listed so the script declares every key it governs)
  KEYS[6] turn text (unused here; same reason)
  KEYS[7] cancel marker of the turn
  KEYS[8] recent turns of the session (sorted set: message id -> claim time, ms)
  KEYS[9] parked turns of the session (set of message ids): a turn that is not the head is
          added here, and the caller parks its job; whoever finishes the turn ahead takes it
          out and wakes it (finish-answer-7.lua, finish-turn-2.lua)
  KEYS[10] the session's past turns as a prompt needs them (list of small JSON entries: the two
          texts, the unanswered mark, their token counts; written with history by
          finish-answer-7.lua, capped at the worker's prompt turns)
  ARGV[1] message id of the turn
  ARGV[2] past turns to read (the newest; 0: none)
  ARGV[3] TTL of the turn's keys, seconds (the resume window)
  ARGV[4] claim time, ms (the caller's clock)
  ARGV[5] recent turns kept per session

  Output: {0, head} another turn is the head (nothing claimed; this one is marked parked); or {1, epoch, next seq, status,
  session record or false, past turns, their form} with status as claim-turn's: 0 open, 1
  already ended, 2 cancelled before it started; the past turns are the prompt list's entries
  (form 1), or whole history entries (form 0) when the prompt list holds fewer of the last turns
  than history does (a session whose turns were filed before the list existed). A turn in no list at all (the list expired with the
  session, or a replay of a turn already answered) counts as the head: it is answered anyway,
  and history is written once per message id.
]]
local head = redis.call('LINDEX', KEYS[1], 0)
if head and head ~= ARGV[1] then
  redis.call('SADD', KEYS[9], ARGV[1])
  redis.call('EXPIRE', KEYS[9], ARGV[3])
  return {0, head}
end

local epoch, nextSeq, status
if redis.call('HEXISTS', KEYS[4], 'done') == 1 then
  epoch = tonumber(redis.call('HGET', KEYS[4], 'epoch') or '0')
  nextSeq = tonumber(redis.call('HGET', KEYS[4], 'next') or '0')
  status = 1
else
  epoch = redis.call('HINCRBY', KEYS[4], 'epoch', 1)
  nextSeq = tonumber(redis.call('HGET', KEYS[4], 'next') or '0')
  redis.call('EXPIRE', KEYS[4], ARGV[3])
  -- Ordered as the session's turns ran, even when two claimers' clocks disagree or share a ms.
  local claimedAt = tonumber(ARGV[4])
  local newest = redis.call('ZRANGE', KEYS[8], -1, -1, 'WITHSCORES')
  if newest[1] and newest[1] ~= ARGV[1] then claimedAt = math.max(claimedAt, tonumber(newest[2]) + 1) end
  redis.call('ZADD', KEYS[8], string.format('%d', claimedAt), ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[8], 0, -(tonumber(ARGV[5]) + 1))
  redis.call('EXPIRE', KEYS[8], ARGV[3])
  status = 0
  if redis.call('EXISTS', KEYS[7]) == 1 then status = 2 end
end

local session = redis.call('GET', KEYS[2])
local past = {}
local form = 1
local turns = tonumber(ARGV[2])
if turns > 0 then
  if redis.call('LLEN', KEYS[10]) >= math.min(turns, redis.call('LLEN', KEYS[3])) then
    past = redis.call('LRANGE', KEYS[10], -turns, -1)
  else
    past = redis.call('LRANGE', KEYS[3], -turns, -1)
    form = 0
  end
end
return {1, epoch, nextSeq, status, session, past, form}
