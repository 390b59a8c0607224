import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { Config } from './config.js';
import type { TurnJobData } from './protocol/schemas.js';
import { RedisKeys, TURN_QUEUE_NAME } from './redis/redis-keys.js';

export type TurnQueue = Queue<TurnJobData, void, 'turn'>;

/**
 * Job options every turn gets. Finished jobs are trimmed (kept long enough to deduplicate a
 * resent message id, not forever); transient LLM errors are retried with exponential backoff.
 */
export function turnJobOptions(config: Config): DefaultJobOptions {
  return {
    attempts: config.worker.jobAttempts,
    backoff: { type: 'exponential', delay: config.worker.backoffMs },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 24 * 3600, count: 10_000 },
  };
}

/**
 * Which queue shard a session's turns go to: a stable hash of the session id (FNV-1a, 32 bits,
 * with MurmurHash3's finaliser) modulo the shard count. Stable across processes and restarts, so every turn of a session lands
 * in the same shard and its order holds; spread evenly for random session ids.
 */
export function queueShardOf(sessionId: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    hash ^= sessionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // FNV's low bits mix poorly (a power-of-two shard count showed it): finish with MurmurHash3's
  // avalanche step so every bit depends on every input bit.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % shards;
}

/**
 * The turn queue, spread over `QUEUE_SHARDS` BullMQ queues (`redis.queueShards`; one on a single
 * Redis by default). BullMQ keeps a queue in one hash slot, so one queue is one hot slot on a
 * cluster; shards put the turns on several masters. A session always maps to the same shard.
 */
export class TurnQueues {
  /** Every shard, by index. */
  readonly shards: readonly TurnQueue[];

  constructor(shards: readonly TurnQueue[]) {
    if (shards.length === 0) throw new TypeError('a turn queue needs at least one shard');
    this.shards = shards;
  }

  /** The `redis.queueShards` shards of a deployment, each under its own prefix (`RedisKeys.bullShardPrefix`). */
  static open(config: Config, connection: ConnectionOptions): TurnQueues {
    const keys = new RedisKeys(config.redis.prefix);
    return new TurnQueues(
      Array.from(
        { length: config.redis.queueShards },
        (_, shard) =>
          new Queue<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, {
            connection,
            prefix: keys.bullShardPrefix(shard),
            defaultJobOptions: turnJobOptions(config),
          }),
      ),
    );
  }

  /** The shard index of a session. */
  shardOf(sessionId: string): number {
    return queueShardOf(sessionId, this.shards.length);
  }

  /** The queue that carries a session's turns. */
  forSession(sessionId: string): TurnQueue {
    return this.shards[this.shardOf(sessionId)]!;
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((queue) => queue.close()));
  }
}

/** The turn queue of a single-shard deployment (tests, tools): shard 0. */
export function createTurnQueue(config: Config, connection: ConnectionOptions): TurnQueue {
  const keys = new RedisKeys(config.redis.prefix);
  return new Queue<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, {
    connection,
    prefix: keys.bullShardPrefix(0),
    defaultJobOptions: turnJobOptions(config),
  });
}

/** Name of the BullMQ queue of readiness canaries (apart from turns: a backlog of turns must not make every gateway unready). */
export const CANARY_QUEUE_NAME = 'canary';

/** A readiness canary: a worker publishes `nonce` on the sending gateway's canary channel. */
export interface CanaryJobData {
  gateway_id: string;
  nonce: string;
  /** Epoch ms when the gateway sent it; a worker drops canaries older than their usefulness. */
  sent_at: number;
}

export type CanaryQueue = Queue<CanaryJobData, void, 'canary'>;

/**
 * The canary queue: one attempt; finished canaries kept a few minutes (bounded), so the sending
 * gateway can tell one a worker answered (`completed`) from one that failed or never ran.
 */
export function createCanaryQueue(config: Config, connection: ConnectionOptions): CanaryQueue {
  const keys = new RedisKeys(config.redis.prefix);
  return new Queue<CanaryJobData, void, 'canary'>(CANARY_QUEUE_NAME, {
    connection,
    prefix: keys.bullPrefix,
    defaultJobOptions: { attempts: 1, removeOnComplete: { age: 300, count: 1000 }, removeOnFail: { age: 300, count: 1000 } },
  });
}
