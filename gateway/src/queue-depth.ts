import type { QueueShardCounts, TurnQueues } from '@chat/shared';

/** Job states read per shard: BullMQ adds `paused` to `waiting` itself (one round trip per shard). */
const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/**
 * Reads the turn queue's job counts on every shard (`QUEUE_SHARDS`, see `TurnQueues`), for the
 * `chat_queue_jobs` / `chat_queue_depth` gauges at scrape time and for `/stats`.
 */
export class QueueDepth {
  constructor(private readonly queues: TurnQueues) {}

  /** Counts per shard, in shard order. */
  read(): Promise<QueueShardCounts[]> {
    return Promise.all(
      this.queues.shards.map(async (queue, shard) => ({ queue: 'turns', shard: String(shard), counts: await queue.getJobCounts(...STATES) })),
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
}
