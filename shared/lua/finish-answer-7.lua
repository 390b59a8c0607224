--[[
  Ends an answered turn in one step: appends it to the session history exactly once (as
  append-turn does: a retried job may finish twice), adds its tokens and cost to the session's
  usage in the same once-only branch, refreshes the session TTL, and removes it from the
  session's queue of unanswered turns (as finish-turn does). One round trip instead of three.

  KEYS[1] history list (JSON entries, newest last)
  KEYS[2] done marker of this message id
  KEYS[3] session record key
  KEYS[4] turns list of the session
  KEYS[5] usage hash of the session (prompt_tokens, completion_tokens, cost_usd, turns)
  KEYS[6] parked turns of the session (see begin-turn-10.lua)
  KEYS[7] the session's past turns as a prompt needs them (see begin-turn-10.lua)
  ARGV[1] history entry, JSON
  ARGV[2] max turns kept
  ARGV[3] session TTL, seconds
  ARGV[4] message id
  ARGV[5] prompt tokens this turn spent (0 for an answer from the cache)
  ARGV[6] completion tokens this turn spent
  ARGV[7] cost of this turn, USD
  ARGV[8] the turn as the prompt list keeps it (JSON), or '' to write history alone
  ARGV[9] entries the prompt list keeps

  Output: {appended, next}: appended 1, or 0 when this message id was already appended or the
  session is gone (erased or expired: its history is not brought back); next the message id
  now at the head of the turns list when that turn is parked (its job waits as delayed: the
  caller wakes it, and it is no longer marked), or false: no turn is next, or it is not parked
  (its job is waiting or running already, and needs no wake-up).
]]
local appended = 0
-- A session erased (or expired) while its turn ran gets no history back: nothing is written.
if redis.call('EXISTS', KEYS[3]) == 1 and redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  redis.call('HINCRBY', KEYS[5], 'prompt_tokens', ARGV[5])
  redis.call('HINCRBY', KEYS[5], 'completion_tokens', ARGV[6])
  redis.call('HINCRBYFLOAT', KEYS[5], 'cost_usd', ARGV[7])
  redis.call('HINCRBY', KEYS[5], 'turns', 1)
  redis.call('EXPIRE', KEYS[5], ARGV[3])
  if ARGV[8] ~= '' then
    redis.call('RPUSH', KEYS[7], ARGV[8])
    redis.call('LTRIM', KEYS[7], -tonumber(ARGV[9]), -1)
    redis.call('EXPIRE', KEYS[7], ARGV[3])
  end
  appended = 1
end
redis.call('LREM', KEYS[4], 1, ARGV[4])
local next = redis.call('LINDEX', KEYS[4], 0)
if next and redis.call('SREM', KEYS[6], next) == 1 then return {appended, next} end
return {appended, false}
