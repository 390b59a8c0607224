import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export type { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** Shown in CLIENT LIST and logs: which part of which process holds the connection. */
  name: string;
  /**
   * BullMQ requires `maxRetriesPerRequest: null` on connections it blocks on; request/response
   * clients instead fail a command after a few reconnect attempts so an HTTP request gets a
   * clear 503 rather than hanging while Redis is away. Default: false.
   */
  forBullmq?: boolean;
  logger?: Logger;
}

/**
 * One place that opens Redis connections, so every connection reconnects the same way:
 * exponential backoff capped at 2 s, forever (a restarted Redis is found again by itself).
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    maxRetriesPerRequest: options.forBullmq ? null : 2,
    lazyConnect: false,
  };
  const redis = new Redis(url, redisOptions);
  const logger = options.logger;
  if (logger) {
    let lastError = '';
    redis.on('error', (err: Error) => {
      // ioredis repeats the same error on every reconnect attempt; log each distinct one once.
      if (err.message !== lastError) logger.warn({ err: err.message, connection: options.name }, 'redis connection error');
      lastError = err.message;
    });
    redis.on('ready', () => {
      if (lastError) logger.info({ connection: options.name }, 'redis connection restored');
      lastError = '';
    });
  } else {
    redis.on('error', () => {});
  }
  return redis;
}

/**
 * Whether an error means "Redis is not reachable right now" (as opposed to a bug): the REST
 * layer answers those with 503 so clients retry, instead of 500.
 */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Stream isn't writeable|LOADING/.test(err.message)
  );
}
