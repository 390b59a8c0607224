/**
 * Queue depth over every turn-queue shard: per shard, waiting + prioritized (BullMQ 5 keeps
 * prioritized jobs out of `wait`), paused left out, exported as chat_queue_depth{queue,shard}
 * and chat_queue_jobs{queue,shard,state}. Real Redis, two queues standing in for two shards.
 */
import t from 'tap';
import { Queue } from 'bullmq';
import { GatewayMetrics, RedisKeys, closeRedis, createMetricsRegistry, createRedisConnection, createTurnQueue, loadConfig, queueDepthOf, turnQueueShardNames } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { QueueDepth } from '../src/queue-depth.js';

t.test('depth per shard = waiting + prioritized; paused and active are not depth', async (t) => {
  const redis = await spawnRedisServer();
  t.teardown(() => redis.stop());
  const config = loadConfig({ REDIS_URL: redis.url, REDIS_PREFIX: `qd${process.pid}` });
  t.same(turnQueueShardNames(config), ['turns'], 'one shard today');
  const connection = createRedisConnection(redis.url, { name: 'queue-depth-test', forBullmq: true });
  const turnQueue = createTurnQueue(config, connection);
  const other = new Queue('turns-shard-1', { connection, prefix: new RedisKeys(config.redis.prefix).bullPrefix });
  const depth = new QueueDepth(config, connection, turnQueue, ['turns', 'turns-shard-1']);
  t.teardown(async () => {
    await depth.close();
    await Promise.all([turnQueue.close(), other.close()]);
    await closeRedis(connection);
  });

  // Shard 0: 2 plain jobs (wait) and 3 with a priority (prioritized set).
  await turnQueue.add('turn', { n: 1 } as never);
  await turnQueue.add('turn', { n: 2 } as never);
  for (const n of [3, 4, 5]) await turnQueue.add('turn', { n } as never, { priority: n });
  // Shard 1: paused globally with 4 jobs: they sit in `paused`, which no worker takes.
  await other.pause();
  for (const n of [1, 2, 3, 4]) await other.add('turn', { n });

  const shards = await depth.read();
  t.same(
    shards.map(({ queue, shard, counts }) => ({ queue, shard, waiting: counts.waiting, prioritized: counts.prioritized, paused: counts.paused, depth: queueDepthOf(counts) })),
    [
      { queue: 'turns', shard: '0', waiting: 2, prioritized: 3, paused: 0, depth: 5 },
      { queue: 'turns', shard: '1', waiting: 0, prioritized: 0, paused: 4, depth: 0 },
    ],
  );
  t.match(await depth.total(), { waiting: 2, prioritized: 3, paused: 4, active: 0 }, 'summed over shards');

  const metrics = new GatewayMetrics(createMetricsRegistry('gateway', false));
  metrics.trackQueueDepth(() => depth.read());
  const text = await metrics.registry.metrics();
  t.match(text, /^chat_queue_depth\{queue="turns",shard="0",role="gateway"\} 5$/m);
  t.match(text, /^chat_queue_depth\{queue="turns",shard="1",role="gateway"\} 0$/m);
  t.match(text, /^chat_queue_jobs\{queue="turns",shard="0",state="prioritized",role="gateway"\} 3$/m);
  t.match(text, /^chat_queue_jobs\{queue="turns",shard="1",state="paused",role="gateway"\} 4$/m);
});
