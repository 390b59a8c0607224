/**
 * Queue depth over every turn-queue shard: per shard, waiting + prioritized (BullMQ 5 keeps
 * prioritized jobs out of `wait`), paused left out, exported as chat_queue_depth{queue,shard}
 * and chat_queue_jobs{queue,shard,state}. Real Redis, QUEUE_SHARDS=2: two BullMQ queues, each
 * under its own hash-tagged prefix.
 */
import t from 'tap';
import { GatewayMetrics, RedisKeys, TurnQueues, closeRedis, createMetricsRegistry, createRedisConnection, loadConfig, queueDepthOf } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { QueueDepth } from '../src/queue-depth.js';

t.test('depth per shard = waiting + prioritized; paused and active are not depth', async (t) => {
  const redis = await spawnRedisServer();
  t.teardown(() => redis.stop());
  const config = loadConfig({ REDIS_URL: redis.url, REDIS_PREFIX: `qd${process.pid}`, QUEUE_SHARDS: '2' });
  const connection = createRedisConnection(redis.url, { name: 'queue-depth-test', forBullmq: true });
  const queues = TurnQueues.open(config, connection);
  const keys = new RedisKeys(config.redis.prefix);
  t.same(queues.shards.map((q) => q.opts.prefix), [keys.bullShardPrefix(0), keys.bullShardPrefix(1)], 'two shards, each its own prefix');
  t.not(keys.bullShardPrefix(0), keys.bullShardPrefix(1));
  const [turnQueue, other] = queues.shards as [(typeof queues.shards)[0], (typeof queues.shards)[0]];
  const depth = new QueueDepth(queues);
  t.teardown(async () => {
    await queues.close();
    await closeRedis(connection);
  });

  // Shard 0: 2 plain jobs (wait) and 3 with a priority (prioritized set).
  await turnQueue.add('turn', { n: 1 } as never);
  await turnQueue.add('turn', { n: 2 } as never);
  for (const n of [3, 4, 5]) await turnQueue.add('turn', { n } as never, { priority: n });
  // Shard 1: paused globally with 4 jobs: they sit in `paused`, which no worker takes.
  await other.pause();
  for (const n of [1, 2, 3, 4]) await other.add('turn', { n } as never);

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
