--[[
  Accepts a chat turn into its session's queue of unanswered turns, once per message id.

  KEYS[1] session record key
  KEYS[2] turns list of the session (unanswered message ids, oldest first)
  KEYS[3] done marker of this message id (its answer is in the history)
  KEYS[4] state hash of this message id's turn log (`done` once the turn ended, however)
  ARGV[1] message id
  ARGV[2] TTL of the turns list, seconds
  ARGV[3] optional: the `user_message` frame (JSON), kept as field `q` of KEYS[4] for sockets
          that resume the turn from its start and for `GET /chat/session/:id`
  ARGV[4] optional (with ARGV[3]): that frame's envelope, published on ARGV[5]
  ARGV[5] optional (with ARGV[3]): the session channel. Published here, in the same step that
          queues the turn, so it reaches subscribers before any frame of the turn's answer

  Output: -1 session not found; 0 already queued; 2 already answered; 3 already ended
  (an error or a cancel ended it: a resend must not queue it again, as its job id is spent);
  1 queued now.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[4], 'done') == 1 then return 3 end
if redis.call('LPOS', KEYS[2], ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if ARGV[3] then
  redis.call('HSET', KEYS[4], 'q', ARGV[3])
  -- Until a worker claims the turn (claim-turn sets the resume window), it lives as its session.
  redis.call('EXPIRE', KEYS[4], ARGV[2])
  redis.call('SPUBLISH', ARGV[5], ARGV[4])
end
return 1
