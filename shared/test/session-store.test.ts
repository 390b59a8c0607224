/** The session store and its Lua scripts against a real Redis spawned for this file. */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { spawnRedisServer } from '../src/dev/redis-server.js';
import { createRedisConnection } from '../src/redis/connection.js';
import { RedisKeys } from '../src/redis/redis-keys.js';
import { SessionStore } from '../src/redis/session-store.js';
import { TurnLog } from '../src/redis/turn-log.js';

const redisServer = await spawnRedisServer();
const redis = createRedisConnection(redisServer.url, { name: 'session-store-test' });
t.teardown(async () => {
  redis.disconnect();
  await redisServer.stop();
});

function freshStore() {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  return { keys, store: new SessionStore(redis, keys, 60) };
}

const context = { customer_name: 'A', customer_email: 'a@example.com', flight_no: null, date: null, created_at: '2026-01-01T00:00:00.000Z' };

t.test('create never overwrites', async (t) => {
  const { store } = freshStore();
  t.equal(await store.create({ session_id: 's1', context }), true);
  t.equal(await store.create({ session_id: 's1', context: { ...context, customer_name: 'B' } }), false);
  t.equal((await store.get('s1'))?.context.customer_name, 'A');
  t.equal(await store.get('nope'), null);
});

t.test('socket slots: limit, release, and expired leases of a vanished gateway', async (t) => {
  const { store, keys } = freshStore();
  await store.create({ session_id: 's', context });
  const open = (member: string, leaseMs = 60_000) => store.scripts.openSocket('s', member, leaseMs, 2, 60);
  t.same(await store.scripts.openSocket('missing', 'g/1', 1000, 2, 60), { ok: false, reason: 'session_not_found' });
  t.same(await open('g1/1'), { ok: true, openSockets: 1 });
  t.same(await open('g1/2', 50), { ok: true, openSockets: 2 });
  t.same(await open('g2/1'), { ok: false, reason: 'too_many_connections', holders: ['g1'] });
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.same(await open('g2/1'), { ok: true, openSockets: 2 }, 'a lapsed lease frees its slot');
  await store.releaseSocket('s', 'g1/1');
  t.equal(await redis.zcard(keys.session('s', 'sockets')), 1);
  await store.renewSocketLeases([{ sessionId: 's', member: 'g2/1' }, { sessionId: 's', member: 'gone/9' }], 60_000);
  t.same(await redis.zrange(keys.session('s', 'sockets'), 0, -1), ['g2/1'], 'renewal never re-adds a released socket');
});

t.test('socket slots of gateways known dead are freed before the limit is judged, live leases or not', async (t) => {
  const { store, keys } = freshStore();
  await store.create({ session_id: 's', context });
  const open = (member: string, dead: string[] = []) => store.scripts.openSocket('s', member, 60_000, 3, 60, dead);
  t.same(await open('gw-a.1/1'), { ok: true, openSockets: 1 });
  t.same(await open('gw-b/1'), { ok: true, openSockets: 2 });
  t.same(await open('gw-a.1/2'), { ok: true, openSockets: 3 });
  const full = await open('gw-c/1');
  t.same(full.ok ? [] : 'holders' in full ? [...full.holders].sort() : [], ['gw-a.1', 'gw-b'], 'a full session names the gateways that hold it');
  t.same(await open('gw-c/1', ['gw-a', 'gw-z']), { ok: false, reason: 'too_many_connections', holders: ['gw-a.1', 'gw-b'] }, 'ids match whole, not by prefix');
  t.same(await open('gw-c/1', ['gw-a.1']), { ok: true, openSockets: 2 }, "the dead gateway's two slots go, the claim fits");
  t.same(await redis.zrange(keys.session('s', 'sockets'), 0, -1), ['gw-b/1', 'gw-c/1']);
});

t.test('turn order: accepted once per id, answered ids refused, head moves on finish', async (t) => {
  const { store } = freshStore();
  await store.create({ session_id: 's', context });
  t.equal(await store.scripts.acceptTurn('nobody', 'm1', 60), 'session_not_found');
  t.equal(await store.scripts.acceptTurn('s', 'm1', 60), 'queued');
  t.equal(await store.scripts.acceptTurn('s', 'm2', 60), 'queued');
  t.equal(await store.scripts.acceptTurn('s', 'm1', 60), 'already_queued');
  t.equal(await store.headTurn('s'), 'm1');
  t.same(await store.unansweredTurns('s'), ['m1', 'm2']);
  t.equal(await store.scripts.finishTurn('s', 'm1'), null, 'finishing the head moves it on; the next was never parked: nothing to wake');
  t.equal(await store.headTurn('s'), 'm2');
  t.equal(await store.scripts.finishTurn('s', 'm2'), null);
  t.equal(await store.scripts.appendTurn('s', 'm1', '{"user":"q","assistant":"a"}', 10, 60), true);
  t.equal(await store.scripts.acceptTurn('s', 'm1', 60), 'already_answered');
});

t.test('a turn that ended without an answer (error, cancel) is not accepted again: its job id is spent', async (t) => {
  const { store, keys } = freshStore();
  await store.create({ session_id: 's', context });
  t.equal(await store.scripts.acceptTurn('s', 'm1', 60), 'queued');
  await store.scripts.finishTurn('s', 'm1');
  await redis.hset(keys.turnLog('s', 'm1').state, 'epoch', '1', 'next', '1', 'done', '1');
  t.equal(await store.scripts.acceptTurn('s', 'm1', 60), 'already_ended');
  t.same(await store.unansweredTurns('s'), [], 'and it is not back in the session\'s order');
});

t.test('history: appended once per message id, capped, oldest dropped', async (t) => {
  const { store } = freshStore();
  await store.create({ session_id: 's', context });
  const entry = (i: number) => JSON.stringify({ message_id: `m${i}`, client_id: null, user: `q${i}`, assistant: `a${i}`, timestamp: 'x' });
  for (let i = 0; i < 5; i++) t.equal(await store.scripts.appendTurn('s', `m${i}`, entry(i), 3, 60), true);
  t.equal(await store.scripts.appendTurn('s', 'm4', entry(4), 3, 60), false, 'a second write of m4 is refused');
  const loaded = await store.getWithHistory('s', 10);
  t.same(loaded?.history.map((h) => h.user), ['q2', 'q3', 'q4'], 'the last three, oldest first');
  const lastTwo = await store.getWithHistory('s', 2);
  t.same(lastTwo?.history.map((h) => h.user), ['q3', 'q4']);
});

t.test('finishAnswer: appends once and moves the head on, in one call, like appendTurn then finishTurn', async (t) => {
  const { store, keys } = freshStore();
  await store.create({ session_id: 's', context });
  for (const id of ['m1', 'm2', 'm3']) await store.scripts.acceptTurn('s', id, 60);
  const entry = (id: string) => JSON.stringify({ message_id: id, client_id: null, user: `q-${id}`, assistant: `a-${id}`, timestamp: 'x' });
  const spent = { promptTokens: 30, completionTokens: 12, costUsd: 0.0015 };
  const log = new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 100 });
  t.same(await log.begin('s', 'm2', 0), { head: 'm1' }, 'm2 found behind m1: parked');
  t.same(await store.scripts.finishAnswer('s', 'm1', entry('m1'), spent, 2, 60), { appended: true, next: 'm2' }, 'the parked next turn is named, to be woken');
  t.same(await store.scripts.finishAnswer('s', 'm1', entry('m1'), spent, 2, 60), { appended: false, next: null }, 'a second run appends nothing, and wakes nobody again');
  t.equal(await store.headTurn('s'), 'm2', 'the head stays');
  t.same(await store.usage('s'), { prompt_tokens: 30, completion_tokens: 12, tokens_used: 42, cost_usd: 0.0015, turns: 1 }, 'usage counted once for the twice-finished turn');
  t.same(await store.scripts.finishAnswer('s', 'm2', entry('m2'), { promptTokens: 0, completionTokens: 0, costUsd: 0 }, 2, 60), { appended: true, next: null }, 'm3 waits in the queue, not parked: nothing to wake');
  t.same(await store.scripts.finishAnswer('s', 'm3', entry('m3'), spent, 2, 60), { appended: true, next: null }, 'the last turn leaves no head');
  t.same(await store.usage('s'), { prompt_tokens: 60, completion_tokens: 24, tokens_used: 84, cost_usd: 0.003, turns: 3 }, 'each appended turn adds what it spent');
  t.ok((await redis.ttl(keys.session('s', 'usage'))) > 0, 'usage has a TTL');
  t.same((await store.getWithHistory('s', 10))?.history.map((h) => h.message_id), ['m2', 'm3'], 'history capped at the max, oldest dropped');
  t.equal(await store.scripts.acceptTurn('s', 'm1', 60), 'already_answered', 'the done marker is set');
  t.ok((await redis.ttl(keys.session('s', 'history'))) > 0, 'history has a TTL');
  await redis.del(keys.session('s', 'session'));
  await store.scripts.acceptTurn('s', 'm4', 60);
  t.same(await store.scripts.finishAnswer('s', 'm4', entry('m4'), spent, 2, 60), { appended: false, next: null }, 'an erased session gets no history back');
  t.equal((await store.usage('s')).turns, 3, 'nor usage');
});

t.test('begin: the head check, the claim and the session with its history in one step', async (t) => {
  const { store, keys } = freshStore();
  const log = new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 100 });
  const none = await log.begin('s', 'm9', 5);
  t.same(none.head === null ? { loaded: none.loaded, status: none.claim.status } : none, { loaded: null, status: 'open' }, 'no session, no turns: claimed (answered anyway), nothing loaded');
  await store.create({ session_id: 's', context });
  await store.scripts.acceptTurn('s', 'm1', 60);
  await store.scripts.acceptTurn('s', 'm2', 60);
  await store.scripts.appendTurn('s', 'm0', JSON.stringify({ message_id: 'm0', client_id: null, user: 'q', assistant: 'a', timestamp: 'x' }), 10, 60);
  t.same(await log.begin('s', 'm2', 5), { head: 'm1' }, 'behind another turn: told the head');
  t.equal(await redis.exists(keys.turnLog('s', 'm2').state), 0, 'and nothing of the turn behind was claimed');
  const first = await log.begin('s', 'm1', 5);
  if (first.head !== null) throw new Error('m1 is the head');
  t.same(first.claim, { epoch: 1, nextSeq: 0, status: 'open' }, 'the head is claimed, as claim does');
  const read = await store.getWithHistory('s', 5);
  t.same(first.loaded, { session: read?.session, pastTurns: read?.history.map((h) => ({ user: h.user, assistant: h.assistant })) }, 'with the session and its last turns as history has them (no prompt list yet)');
  const again = await log.begin('s', 'm1', 0);
  t.same(again.head === null ? [again.claim.epoch, again.loaded?.pastTurns] : again, [2, []], 'a second attempt takes over (epoch 2); no history asked, none read');
  t.same(await log.recentTurns('s', 0), ['m9', 'm1'], 'the claims are recorded among recent turns, in order');
  await redis.set(keys.turnCancel('s', 'm1'), '1');
  const cancelled = await log.begin('s', 'm1', 0);
  t.equal(cancelled.head === null ? cancelled.claim.status : 'head', 'cancelled', 'a cancel marker is reported, as claim does');
  await redis.hset(keys.turnLog('s', 'm1').state, 'done', '1');
  const ended = await log.begin('s', 'm1', 0);
  t.same(ended.head === null ? ended.claim : ended, { epoch: 3, nextSeq: 0, status: 'ended' }, 'an ended turn is not claimed again');
});

t.test('the prompt list: filed with history once, capped, read by the head check; history until it holds the last turns', async (t) => {
  const { store, keys } = freshStore();
  const log = new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 100 });
  await store.create({ session_id: 's', context });
  const entry = (id: string, unanswered = false) =>
    JSON.stringify({ message_id: id, client_id: null, user: `q-${id}`, assistant: `a-${id}`, timestamp: 'x', metadata: { sources: [{ n: 1 }], ...(unanswered ? { unanswered: true } : {}) } });
  const past = (id: string, unanswered = false) => ({ user: `q-${id}`, assistant: `a-${id}`, ...(unanswered ? { unanswered: true as const } : {}), tokens: { tokenizer: 'o200k_base', user: 3, assistant: 4 } });
  const spent = { promptTokens: 1, completionTokens: 1, costUsd: 0 };
  // Two turns filed before the prompt list existed (history alone).
  for (const id of ['m1', 'm2']) {
    await store.scripts.acceptTurn('s', id, 60);
    await store.scripts.finishAnswer('s', id, entry(id, id === 'm2'), spent, 50, 60);
  }
  for (const id of ['m3', 'm4', 'm5', 'm6']) {
    await store.scripts.acceptTurn('s', id, 60);
    await store.scripts.finishAnswer('s', id, entry(id), spent, 50, 60, { turn: past(id), kept: 3 });
  }
  t.same(await redis.lrange(keys.session('s', 'prompt'), 0, -1), ['m4', 'm5', 'm6'].map((id) => JSON.stringify(past(id))), 'the last three kept, oldest first');
  t.ok((await redis.ttl(keys.session('s', 'prompt'))) > 0, 'it expires with the session');
  await store.scripts.acceptTurn('s', 'm6', 60);
  t.same(
    await store.scripts.finishAnswer('s', 'm6', entry('m6'), spent, 50, 60, { turn: past('m6'), kept: 3 }),
    { appended: false, next: null },
    'a second finish of a turn is refused',
  );
  t.equal(await redis.llen(keys.session('s', 'prompt')), 3, 'and adds nothing to the prompt list');

  await store.scripts.acceptTurn('s', 'm7', 60);
  const three = await log.begin('s', 'm7', 3);
  t.same(three.head === null ? three.loaded?.pastTurns : three, ['m4', 'm5', 'm6'].map((id) => past(id)), 'three asked: the prompt list, counts and all');
  const five = await log.begin('s', 'm7', 5);
  t.same(
    five.head === null ? five.loaded?.pastTurns : five,
    [
      { user: 'q-m2', assistant: 'a-m2', unanswered: true },
      { user: 'q-m3', assistant: 'a-m3' },
      { user: 'q-m4', assistant: 'a-m4' },
      { user: 'q-m5', assistant: 'a-m5' },
      { user: 'q-m6', assistant: 'a-m6' },
    ],
    'five asked, the list holds three: read from history (texts and the unanswered mark)',
  );
});

t.test('parked turns: marked by the head check, woken once by whoever finishes the turn ahead', async (t) => {
  const { store, keys } = freshStore();
  const log = new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 100 });
  await store.create({ session_id: 's', context });
  for (const id of ['m1', 'm2', 'm3']) await store.scripts.acceptTurn('s', id, 60);
  t.same(await log.begin('s', 'm3', 0), { head: 'm1' }, 'm3 is parked behind m1');
  t.same(await log.begin('s', 'm3', 0), { head: 'm1' }, 'and again after its retry timer (marked once)');
  t.same(await redis.smembers(keys.session('s', 'parked')), ['m3']);
  t.ok((await redis.ttl(keys.session('s', 'parked'))) > 0, 'the marks expire with the turn keys');
  t.equal(await store.scripts.finishTurn('s', 'm1'), null, 'm2, next after m1, was never parked: nobody to wake');
  t.same(await log.begin('s', 'm3', 0), { head: 'm2' }, 'm3 still waits, now behind m2');
  t.equal(await store.scripts.finishTurn('s', 'm2'), 'm3', 'finishing m2 names m3 to wake');
  t.same(await redis.smembers(keys.session('s', 'parked')), [], 'and takes its mark: woken once');
  t.equal(await store.scripts.finishTurn('s', 'm2'), null, 'a second finish of m2 wakes nobody');
  const started = await log.begin('s', 'm3', 0);
  t.equal(started.head, null, 'm3 is the head now and is claimed');
});

t.test('admitTurn: token budget, turn rate limit and the message-id record, in the accept step', async (t) => {
  const { store, keys } = freshStore();
  const limits = { turnsPerWindow: 2, windowSeconds: 60, tokenBudget: 100 };
  t.same(await store.scripts.admitTurn('nobody', 'm1', 60, limits), { outcome: 'session_not_found' }, 'an unknown session is refused before anything is counted');
  t.equal(await redis.exists(keys.session('nobody', 'turn-rate')), 0);
  await store.create({ session_id: 's', context });
  t.same(await store.scripts.admitTurn('s', 'm1', 60, limits), { outcome: 'queued', sessionFlight: { flight_no: null, date: null } }, "a queued turn comes with its session's flight");
  t.same(await store.scripts.admitTurn('s', 'm1', 60, limits), { outcome: 'already_queued' }, 'a resend counts against the limit too');
  const refused = await store.scripts.admitTurn('s', 'm2', 60, limits);
  t.equal(refused.outcome, 'rate_limited', 'the third message in the window is refused');
  t.ok(refused.outcome === 'rate_limited' && refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, 'with the time until the window turns');
  t.same(await store.unansweredTurns('s'), ['m1'], 'a refused turn is not queued');
  t.same(await redis.smembers(keys.session('s', 'messages')), ['m1'], 'only the queued message id is recorded for erasure');
  t.ok((await redis.ttl(keys.session('s', 'messages'))) > 0, 'the record expires with the session');
  t.ok((await redis.pttl(keys.session('s', 'turn-rate'))) > 0, 'the counter expires with its window');

  const answered = JSON.stringify({ message_id: 'm1', client_id: null, user: 'q', assistant: 'a', timestamp: 'x' });
  await store.scripts.finishAnswer('s', 'm1', answered, { promptTokens: 60, completionTokens: 40, costUsd: 0 }, 10, 60);
  t.same(await store.scripts.admitTurn('s', 'm3', 60, { ...limits, turnsPerWindow: 0 }), { outcome: 'token_budget_exhausted', tokensUsed: 100 }, 'a spent budget refuses');
  t.same(await store.scripts.admitTurn('s', 'm3', 60, { ...limits, turnsPerWindow: 0, tokenBudget: 101 }), { outcome: 'queued', sessionFlight: { flight_no: null, date: null } }, 'under the budget, queued');
  t.same(await store.scripts.admitTurn('s', 'm4', 60, { turnsPerWindow: 0, windowSeconds: 60, tokenBudget: 0 }), { outcome: 'queued', sessionFlight: { flight_no: null, date: null } }, 'no limits: nothing refused');

  await store.create({ session_id: 'f', context: { ...context, flight_no: 'NZ123', date: '2026-03-05' } });
  t.same(await store.scripts.admitTurn('f', 'm1', 60, limits), { outcome: 'queued', sessionFlight: { flight_no: 'NZ123', date: '2026-03-05' } }, "the session's own flight and date, for the worker's early context");
  await redis.set(keys.session('g', 'session'), 'not json');
  t.same(await store.scripts.admitTurn('g', 'm1', 60, limits), { outcome: 'queued', sessionFlight: null }, 'a record that is not a session is no flight: the worker reads the session itself');
});
