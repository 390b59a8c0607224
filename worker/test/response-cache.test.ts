/**
 * The response cache against a real Redis: single flight (one holder computes, a racer gets its
 * answer), the lock released whether or not an answer was stored.
 */
import t from 'tap';
import { Redis as IORedis } from 'ioredis';
import { RedisKeys, SessionEraser, type Redis } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { ResponseCache, type CachedAnswer } from '../src/response-cache.js';

/** Waits (bounded) for a condition; fails the test by timing out the await otherwise. */
async function eventuallyTrue(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const answer: CachedAnswer = { content: 'Two bags [1].', metadata: { model: 'm', prompt_tokens: 10, completion_tokens: 4 } } as CachedAnswer;

t.test('one caller computes, a racer waits for its answer; set releases the lock', async (t) => {
  const server = await spawnRedisServer();
  const redis = new IORedis(server.port, '127.0.0.1') as unknown as Redis;
  t.teardown(async () => {
    redis.disconnect();
    await server.stop();
  });
  const cache = new ResponseCache(redis, new RedisKeys(`t${Date.now().toString(36)}`), 60, 5_000, 10);
  const key = cache.key({ question: 'how many bags', model: 'm', promptVersion: 'v', dataVersions: { policy: 'p1' }, sessionId: null });

  t.equal(await cache.get(key), null, 'a miss');
  let firstWaited = 0;
  t.equal(await cache.acquire(key, undefined, '1', () => firstWaited++), 'compute', 'the first caller computes');
  t.equal(firstWaited, 0, 'and did not wait');
  let joins = 0;
  const racer = cache.acquire(key, undefined, '1', () => joins++);
  await eventuallyTrue(() => joins === 1);
  await cache.set(key, answer);
  t.equal(await redis.exists(key.lock), 0, 'set dropped the lock with the answer');
  await cache.release(key);
  t.same(await racer, answer, 'the racer got the stored answer instead of computing');
  t.equal(joins, 1, 'the racer was told once that it joined another computation (single-flight join)');
  t.same(await cache.get(key), answer);

  const other = cache.key({ question: 'how many seats', model: 'm', promptVersion: 'v', dataVersions: {}, sessionId: null });
  t.equal(await cache.acquire(other), 'compute');
  await cache.release(other);
  t.equal(await redis.exists(other.lock), 0, 'release without an answer drops the lock');
  t.equal(await cache.acquire(other), 'compute', 'and the next caller may compute');
  await cache.release(other);
});

t.test('acquire returns a stored answer without taking the lock; a retry of the same turn takes over its own lock', async (t) => {
  const server = await spawnRedisServer();
  const redis = new IORedis(server.port, '127.0.0.1') as unknown as Redis;
  t.teardown(async () => {
    redis.disconnect();
    await server.stop();
  });
  const cache = new ResponseCache(redis, new RedisKeys(`t${Date.now().toString(36)}`), 60, 5_000, 10);
  const key = cache.key({ question: 'how many bags', model: 'm', promptVersion: 'v', dataVersions: {}, sessionId: null });
  t.equal(await cache.acquire(key, undefined, 'msg-1'), 'compute');
  t.equal(await redis.get(key.lock), 'msg-1', 'the lock names its holder');
  t.equal(await cache.acquire(key, undefined, 'msg-1'), 'compute', 'the same turn (a retry) takes over its own lock');
  await cache.set(key, answer);
  t.same(await cache.acquire(key, undefined, 'msg-2'), answer, 'a stored answer is returned at once');
  t.equal(await redis.exists(key.lock), 0, 'and no lock was taken for it');
  const aborted = new AbortController();
  aborted.abort();
  const other = cache.key({ question: 'how many seats', model: 'm', promptVersion: 'v', dataVersions: {}, sessionId: null });
  t.equal(await cache.acquire(other, undefined, 'msg-3'), 'compute');
  t.equal(await cache.acquire(other, aborted.signal, 'msg-4'), 'compute', 'an aborted waiter stops waiting');
});

t.test("an answer kept for one session is tracked for its erasure and lives as long as the cache's TTL; a shared one is not tracked", async (t) => {
  const server = await spawnRedisServer();
  const redis = new IORedis(server.port, '127.0.0.1') as unknown as Redis;
  t.teardown(async () => {
    redis.disconnect();
    await server.stop();
  });
  const keys = new RedisKeys(`t${Date.now().toString(36)}`);
  const cache = new ResponseCache(redis, keys, 60, 5_000, 10);
  const sessionId = 'sess-cache-1';
  await redis.set(keys.session(sessionId, 'session'), '{}');

  const own = cache.key({ question: 'is my flight on time', model: 'm', promptVersion: 'v', dataVersions: { flight: 'f1' }, sessionId });
  t.ok(own.tracking, 'a session-scoped key carries its tracking set');
  t.equal(await cache.acquire(own, undefined, 'msg-1'), 'compute');
  await cache.set(own, answer);
  t.same(await cache.get(own), answer, 'the answer is stored');
  t.equal(await redis.exists(own.lock), 0, 'and its lock dropped in the same call');
  t.same(await redis.smembers(own.tracking!.set), [own.tracking!.hash], "the session's set names it");
  const answerTtl = await redis.ttl(own.answer);
  const setTtl = await redis.ttl(own.tracking!.set);
  t.ok(answerTtl > 50 && answerTtl <= 60, `the answer expires with the cache's TTL (${answerTtl} s)`);
  t.ok(setTtl > 50 && setTtl <= 60, `so does the tracking set (${setTtl} s)`);

  const shared = cache.key({ question: 'how many bags', model: 'm', promptVersion: 'v', dataVersions: { policy: 'p1' }, sessionId: null });
  t.equal(shared.tracking, undefined, 'a shared key has no tracking set');
  t.equal(await cache.acquire(shared, undefined, 'msg-2'), 'compute');
  await cache.set(shared, answer);
  t.same(await cache.get(shared), answer, 'the shared answer is stored');
  t.equal(await redis.exists(shared.lock), 0, 'and its lock dropped');
  t.same(await redis.smembers(own.tracking!.set), [own.tracking!.hash], "the session's set still names only its own answer");

  await new SessionEraser(redis, keys).erase(sessionId);
  t.equal(await redis.exists(own.answer), 0, "erasing the session deletes the answer kept for it");
  t.equal(await redis.exists(own.tracking!.set), 0, 'and its tracking set');
  t.same(await cache.get(shared), answer, "the shared answer (no personal data, no flight) stays for everyone");
});
