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
