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
 * Names of the BullMQ queues that turns are spread over, shard 0 first. One queue (`turns`) for
 * now; the Redis Cluster work shards it (one hash tag per queue). Everything that counts or
 * consumes turns over every shard (queue depth metrics, autoscaling) takes the list from here.
 */
export function turnQueueShardNames(_config: Pick<Config, 'redis'>): string[] {
  return [TURN_QUEUE_NAME];
}

/** The queue of chat turns, under BullMQ's own key prefix. */
export function createTurnQueue(config: Config, connection: ConnectionOptions): TurnQueue {
  const keys = new RedisKeys(config.redis.prefix);
  return new Queue<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, {
    connection,
    prefix: keys.bullPrefix,
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
