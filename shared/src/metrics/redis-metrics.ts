import { Gauge, Histogram, type Registry } from 'prom-client';
import type { RedisClient } from '../redis/connection.js';

/** Round trips are sub-millisecond on a LAN; past a second Redis is as good as away. */
const ROUND_TRIP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const PING_TIMEOUT_MS = 1000;

/**
 * Redis reachability and round trip per connection role (`cache`, `queue`: a fixed set, so the
 * labels stay bounded), measured at scrape time: one PING per connection per scrape, none on
 * the hot path. `chat_redis_up` is 0 while the connection is not ready or the PING fails or
 * takes over a second.
 */
export function trackRedis(registry: Registry, connections: Readonly<Record<string, RedisClient>>): void {
  const roundTrip = new Histogram({
    name: 'chat_redis_round_trip_seconds',
    help: 'PING round trip per Redis connection, sampled at each scrape',
    labelNames: ['connection'],
    buckets: ROUND_TRIP_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'chat_redis_up',
    help: '1 while this Redis connection is ready and answers PING within 1 s, else 0',
    labelNames: ['connection'],
    registers: [registry],
    async collect() {
      await Promise.all(
        Object.entries(connections).map(async ([connection, redis]) => {
          const seconds = redis.status === 'ready' ? await pingSeconds(redis) : null;
          if (seconds !== null) roundTrip.observe({ connection }, seconds);
          this.set({ connection }, seconds === null ? 0 : 1);
        }),
      );
    },
  });
}

async function pingSeconds(redis: RedisClient): Promise<number | null> {
  const started = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('ping timed out')), PING_TIMEOUT_MS);
      }),
    ]);
    return Number(process.hrtime.bigint() - started) / 1e9;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
