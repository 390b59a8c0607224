--[[
  Accepts a chat turn into its session's queue of unanswered turns, once per message id.

  KEYS[1] session record key
  KEYS[2] turns list of the session (unanswered message ids, oldest first)
  KEYS[3] done marker of this message id (its answer is in the history)
  KEYS[4] state hash of this message id's turn log (`done` once the turn ended, however)
  ARGV[1] message id
  ARGV[2] TTL of the turns list, seconds

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
return 1
