import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from './redis/connection.js';
import type { Config } from './config.js';
import type { RedisKeys } from './redis/redis-keys.js';

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * A fixed-window limit counted atomically in Redis (rate-limiter-flexible runs one Lua call
 * per check), so every gateway enforces the same budget. A Redis failure is thrown, not
 * swallowed: the caller decides whether to fail open or closed.
 */
export class RedisRateLimit {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: RedisClient,
    keyPrefix: string,
    readonly points: number,
    durationSeconds: number,
  ) {
    this.limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: durationSeconds });
  }

  async consume(subject: string, points = 1): Promise<LimitVerdict> {
    try {
      await this.limiter.consume(subject, points);
      return { allowed: true };
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(outcome.msBeforeNext)) };
      throw outcome;
    }
  }

  /** Gives back `points` a `consume` took that turned out not to be needed (in the same window). */
  async refund(subject: string, points: number): Promise<void> {
    await this.limiter.reward(subject, points);
  }
}

/**
 * The limits a gateway enforces on its clients. Chat turns per session are counted by the accept
 * script itself, in the session's hash slot (`SessionScripts.admitTurn`): no round trip of their own.
 */
export class GatewayRateLimits {
  /** WebSocket connection attempts per client address. */
  readonly connects: RedisRateLimit;
  /** Session creations per client address. */
  readonly sessions: RedisRateLimit;

  constructor(redis: RedisClient, keys: RedisKeys, limits: Config['limits']) {
    this.connects = new RedisRateLimit(redis, keys.rateLimitPrefix('connects'), limits.connectsPerMinutePerAddress, 60);
    this.sessions = new RedisRateLimit(redis, keys.rateLimitPrefix('sessions'), limits.sessionsPerMinutePerAddress, 60);
  }
}
