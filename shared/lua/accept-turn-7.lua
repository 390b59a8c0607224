--[[
  Accepts a chat turn into its session's queue of unanswered turns, once per message id, with
  the checks and bookkeeping of the gateway's intake in the same step (one round trip: every
  key is the session's, one hash slot): the session's token budget, its turn rate limit, and
  the record of the message id for erasure.

  KEYS[1] session record key
  KEYS[2] turns list of the session (unanswered message ids, oldest first)
  KEYS[3] done marker of this message id (its answer is in the history)
  KEYS[4] state hash of this message id's turn log (`done` once the turn ended, however)
  KEYS[5] turn rate counter of the session (fixed window)
  KEYS[6] usage hash of the session (prompt_tokens, completion_tokens)
  KEYS[7] message ids the session ever accepted (set, for erasure)
  ARGV[1] message id
  ARGV[2] TTL of the turns list and of the message-id set, seconds
  ARGV[3] turns allowed per window (0: no limit)
  ARGV[4] window of the turn rate limit, seconds
  ARGV[5] LLM tokens the session may spend (0: no budget)
  ARGV[6] optional: the `user_message` frame (JSON), kept as field `q` of KEYS[4] for sockets
          that resume the turn from its start and for `GET /chat/session/:id`
  ARGV[7] optional (with ARGV[6]): that frame's envelope, published on ARGV[8]
  ARGV[8] optional (with ARGV[6]): the session channel. Published here, in the same step that
          queues the turn, so it reaches subscribers before any frame of the turn's answer

  Output: {-1} session not found; {-4, tokens used} the token budget is spent; {-5, ms until the
  window turns} rate limited; {0} already queued; {2} already answered; {3} already ended (an
  error or a cancel ended it: a resend must not queue it again, as its job id is spent);
  {1, session record} queued now: the record (JSON, as SessionStore wrote it) rides back so the
  gateway can hand the session's flight to the worker with the job, which gathers the turn's
  context while its own head check is in flight instead of after it.
  A resend counts against the rate limit as a new message does (the limit counts what clients
  send); a refused turn (budget, rate) changes nothing else.
]]
local record = redis.call('GET', KEYS[1])
if not record then return {-1} end
local budget = tonumber(ARGV[5])
if budget > 0 then
  local spent = redis.call('HMGET', KEYS[6], 'prompt_tokens', 'completion_tokens')
  local used = tonumber(spent[1] or '0') + tonumber(spent[2] or '0')
  if used >= budget then return {-4, used} end
end
local limit = tonumber(ARGV[3])
if limit > 0 then
  redis.call('SET', KEYS[5], 0, 'EX', ARGV[4], 'NX')
  local count = redis.call('INCR', KEYS[5])
  local ttl = redis.call('PTTL', KEYS[5])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[5], ARGV[4])
    ttl = tonumber(ARGV[4]) * 1000
  end
  if count > limit then return {-5, ttl} end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {2} end
if redis.call('HEXISTS', KEYS[4], 'done') == 1 then return {3} end
if redis.call('LPOS', KEYS[2], ARGV[1]) then return {0} end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[7], ARGV[1])
redis.call('EXPIRE', KEYS[7], ARGV[2])
if ARGV[6] then
  redis.call('HSET', KEYS[4], 'q', ARGV[6])
  -- Until a worker claims the turn (claim-turn sets the resume window), it lives as its session.
  redis.call('EXPIRE', KEYS[4], ARGV[2])
  redis.call('SPUBLISH', ARGV[8], ARGV[7])
end
return {1, record}
