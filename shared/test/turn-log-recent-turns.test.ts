/**
 * A turn's claim records it among its session's recent turns (TurnLog.recentTurns), against a
 * real Redis spawned for this file: the gateway's hole fill finds there the turns that began
 * and ended while its subscription was down.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { spawnRedisServer } from '../src/dev/redis-server.js';
import { createRedisConnection } from '../src/redis/connection.js';
import { RedisKeys } from '../src/redis/redis-keys.js';
import { TurnLog } from '../src/redis/turn-log.js';

const redisServer = await spawnRedisServer();
const redis = createRedisConnection(redisServer.url, { name: 'turn-log-recent-test' });
t.teardown(async () => {
  redis.disconnect();
  await redisServer.stop();
});

function turnLog(): { log: TurnLog; keys: RedisKeys } {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  return { log: new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 100 }), keys };
}

t.test('every claim that opens a turn records it, oldest claim first; a claim of an ended turn does not', async (t) => {
  const { log, keys } = turnLog();
  const before = Date.now();
  await log.claim('s1', 'm1');
  await log.claim('s1', 'm2');
  await log.claim('s2', 'other-session');
  t.same(await log.recentTurns('s1', before), ['m1', 'm2'], "the session's turns, in claim order");
  t.same(await log.recentTurns('s1', Date.now() + 60_000), [], 'none claimed after a later time');

  // m1 ends; a second claim (a duplicate run of the job) finds it ended and records nothing.
  const k = keys.turnLog('s1', 'm1');
  await redis.hset(k.state, 'done', '1');
  await redis.zadd(keys.recentTurns('s1'), 1, 'm1');
  t.equal((await log.claim('s1', 'm1')).status, 'ended');
  t.same(await log.recentTurns('s1', before), ['m2'], 'the ended turn was not claimed again');

  const ttl = await redis.ttl(keys.recentTurns('s1'));
  t.ok(ttl > 0 && ttl <= 300, `the set expires with the resume window (ttl ${ttl} s)`);
});

t.test('the order is the order the turns were claimed, even against a claimer whose clock runs ahead', async (t) => {
  const { log, keys } = turnLog();
  // A turn claimed by a writer whose clock is ten seconds ahead of this one.
  await redis.zadd(keys.recentTurns('s1'), Date.now() + 10_000, 'ahead');
  await log.claim('s1', 'next');
  t.same(await log.recentTurns('s1', 0), ['ahead', 'next'], 'the later claim sorts after it');
});

t.test('only the last sixteen turns of a session are kept', async (t) => {
  const { log } = turnLog();
  for (let i = 0; i < 20; i++) await log.claim('s1', `m${i}`);
  const kept = await log.recentTurns('s1', 0);
  t.equal(kept.length, 16);
  t.same(kept.slice(-2), ['m18', 'm19'], 'the newest are the ones kept');
  t.notOk(kept.includes('m0'), 'the oldest are trimmed');
});
