/** One loop turn's commands leave in one socket write, in order, against a real Redis. */
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import t from 'tap';
import { spawnRedisServer } from '../src/dev/redis-server.js';
import { createRedisConnection } from '../src/redis/connection.js';
import { WriteCoalescer } from '../src/redis/write-coalescer.js';

const redisServer = await spawnRedisServer();
const redis = createRedisConnection(redisServer.url, { name: 'write-coalescer-test' });
t.teardown(async () => {
  redis.disconnect();
  await redisServer.stop();
});

/** Counts the socket-level writes (one `_write` or `_writev` each) of the connection. */
function countWrites(): { writes: () => number; restore: () => void } {
  const stream = (redis as unknown as { stream: Socket & { _write: unknown; _writev: unknown } }).stream;
  const original = { write: stream._write, writev: stream._writev };
  let writes = 0;
  const wrap = (fn: unknown) =>
    function (this: Socket, ...args: unknown[]) {
      writes++;
      return (fn as (...a: unknown[]) => unknown).apply(this, args);
    };
  stream._write = wrap(original.write);
  stream._writev = wrap(original.writev);
  return { writes: () => writes, restore: () => Object.assign(stream, { _write: original.write, _writev: original.writev }) };
}

t.test('commands of one loop turn share one write and keep their order', async (t) => {
  await redis.ping();
  const coalescer = new WriteCoalescer(redis);
  const counter = countWrites();
  t.teardown(counter.restore);

  const pushes: Promise<number>[] = [];
  for (let i = 0; i < 50; i++) {
    coalescer.hold();
    pushes.push(redis.rpush('order', String(i)));
  }
  const lengths = await Promise.all(pushes);
  t.equal(counter.writes(), 1, '50 commands, one socket write');
  t.same(lengths, Array.from({ length: 50 }, (_, i) => i + 1), 'each reply is its own command');
  t.same(await redis.lrange('order', 0, -1), Array.from({ length: 50 }, (_, i) => String(i)), 'in issue order');

  const before = counter.writes();
  for (let i = 0; i < 3; i++) await redis.rpush('plain', String(i));
  t.equal(counter.writes() - before, 3, 'without hold() each command is its own write');
});

t.test('batches of successive loop turns do not wait for each other', async (t) => {
  const coalescer = new WriteCoalescer(redis);
  // Pause Redis for a moment: the first batch's replies are late, the second batch leaves anyway.
  const slow = redis.duplicate();
  t.teardown(() => slow.disconnect());
  const counter = countWrites();
  t.teardown(counter.restore);
  await slow.call('CLIENT', 'PAUSE', '300');
  coalescer.hold();
  const first = redis.incr('turns');
  await new Promise((resolve) => setImmediate(resolve));
  coalescer.hold();
  const second = redis.incr('turns');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(counter.writes(), 2, 'both batches were written before any reply came back');
  t.same(await Promise.all([first, second]), [1, 2]);
});

t.test('a connection that is not ready is left to ioredis (its offline queue)', async (t) => {
  const lazy = new Redis(redisServer.url, { lazyConnect: true });
  t.teardown(() => lazy.disconnect());
  const coalescer = new WriteCoalescer(lazy);
  coalescer.hold();
  t.equal(await lazy.ping(), 'PONG', 'the queued command still runs once connected');
});

t.test('a hook before the release issues its command into the same write, after the loop turn’s commands', async (t) => {
  await redis.ping();
  const coalescer = new WriteCoalescer(redis);
  const counter = countWrites();
  t.teardown(counter.restore);
  const replies: Array<Promise<number>> = [];
  coalescer.hold();
  replies.push(redis.rpush('hooked', 'first'));
  coalescer.beforeRelease(() => {
    coalescer.hold(); // as a command issued from the hook does: already held, same write
    replies.push(redis.rpush('hooked', 'from the hook'));
  });
  coalescer.hold();
  replies.push(redis.rpush('hooked', 'second'));
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all(replies);
  t.equal(counter.writes(), 1, 'one socket write');
  t.same(await redis.lrange('hooked', 0, -1), ['first', 'second', 'from the hook']);
});

t.test('a hook runs while the connection is not ready; its command waits in the offline queue', async (t) => {
  const lazy = new Redis(redisServer.url, { lazyConnect: true });
  t.teardown(() => lazy.disconnect());
  const coalescer = new WriteCoalescer(lazy);
  let reply: Promise<string> | null = null;
  coalescer.beforeRelease(() => {
    reply = lazy.ping();
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(reply !== null, 'the hook ran at the end of the loop turn');
  t.equal(await reply, 'PONG', 'and its command ran once connected');
});

t.test('a hook that throws does not stop the other hooks or the write', async (t) => {
  await redis.ping();
  const coalescer = new WriteCoalescer(redis);
  const thrown: unknown[] = [];
  const onUncaught = (err: unknown) => thrown.push(err);
  // The error surfaces from the setImmediate callback, as any bug there would.
  process.prependOnceListener('uncaughtException', onUncaught);
  t.teardown(() => process.off('uncaughtException', onUncaught));
  let later: Promise<number> | null = null;
  coalescer.hold();
  const held = redis.incr('hooks-throwing');
  coalescer.beforeRelease(() => {
    throw new Error('broken hook');
  });
  coalescer.beforeRelease(() => {
    later = redis.incr('hooks-throwing');
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(await held, 1, 'the held command was written');
  t.equal(await later, 2, 'the next hook ran and its command was written');
  t.match(String(thrown[0]), /broken hook/, 'the error was thrown once all ran');
});
