import { Queue, type ConnectionOptions } from 'bullmq';
import { RedisKeys, turnQueueShardNames, type Config, type QueueShardCounts, type TurnQueue } from '@chat/shared';

/** Job states read per shard: BullMQ adds `paused` to `waiting` itself (one round trip per shard). */
const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/**
 * Reads the turn queue's job counts on every shard (the list comes from `turnQueueShardNames`),
 * for the `chat_queue_jobs` / `chat_queue_depth` gauges at scrape time. The gateway's own turn
 * queue is reused for the shard it names; other shards get a Queue handle of their own, used
 * only to count.
 */
export class QueueDepth {
  private readonly shards: Array<{ shard: string; queue: Queue }>;
  private readonly owned: Queue[] = [];

  constructor(
    config: Readonly<Config>,
    connection: ConnectionOptions,
    turnQueue: TurnQueue,
    /** The shards' queue names, shard 0 first. Default: `turnQueueShardNames(config)`. */
    names: readonly string[] = turnQueueShardNames(config),
  ) {
    const prefix = new RedisKeys(config.redis.prefix).bullPrefix;
    this.shards = names.map((name, index) => {
      if (name === turnQueue.name) return { shard: String(index), queue: turnQueue as Queue };
      const queue = new Queue(name, { connection, prefix });
      this.owned.push(queue);
      return { shard: String(index), queue };
    });
  }

  /** Counts per shard, in shard order. */
  read(): Promise<QueueShardCounts[]> {
    return Promise.all(
      this.shards.map(async ({ shard, queue }) => ({ queue: 'turns', shard, counts: await queue.getJobCounts(...STATES) })),
    );
  }

  /** Counts summed over every shard (what /stats and tests read). */
  async total(): Promise<Record<string, number>> {
    const sum: Record<string, number> = {};
    for (const { counts } of await this.read()) {
      for (const [state, count] of Object.entries(counts)) sum[state] = (sum[state] ?? 0) + count;
    }
    return sum;
  }

  /** Closes the Queue handles this made (not the gateway's own turn queue). */
  async close(): Promise<void> {
    await Promise.all(this.owned.map((queue) => queue.close()));
  }
}
