import { ServiceError, type RedisClient } from '@chat/shared';

/** The message of a request refused because Redis has been away past the grace. */
export const REDIS_AWAY_MESSAGE = 'The service cannot reach its store right now; retry shortly.';

/**
 * Whether this gateway can reach Redis, from its connections' own events. Once a connection has
 * been away longer than `graceMs`, requests that need Redis are refused at once (503, or close
 * 1013 for a socket) instead of each waiting out ioredis's reconnect attempts, 2–6 s apiece, while
 * Redis restarts; a blip shorter than the grace is ridden out by ioredis's offline queue.
 */
export class RedisAvailability {
  private readonly awaySince = new Map<RedisClient, number>();

  constructor(
    connections: readonly RedisClient[],
    private readonly graceMs: number,
  ) {
    for (const redis of connections) {
      if (redis.status !== 'ready') this.awaySince.set(redis, Date.now());
      const away = () => {
        if (!this.awaySince.has(redis)) this.awaySince.set(redis, Date.now());
      };
      redis.on('close', away);
      redis.on('end', away);
      redis.on('ready', () => this.awaySince.delete(redis));
    }
  }

  /** Since when (epoch ms) some connection has been away; null while all are up. */
  awayFrom(): number | null {
    let earliest: number | null = null;
    for (const since of this.awaySince.values()) if (earliest === null || since < earliest) earliest = since;
    return earliest;
  }

  /** Throws `service_unavailable` (retry in 1 s) when Redis has been away past the grace. */
  assertReachable(now: number = Date.now()): void {
    const since = this.awayFrom();
    if (since !== null && now - since > this.graceMs) throw new ServiceError('service_unavailable', REDIS_AWAY_MESSAGE, undefined, 1000);
  }
}
