/**
 * The response cache against a real Redis: single flight (one holder computes, a racer gets its
 * answer), the lock released whether or not an answer was stored.
 */
import t from 'tap';
import { Redis as IORedis } from 'ioredis';
import { RedisKeys, type Redis } from '@chat/shared';
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
