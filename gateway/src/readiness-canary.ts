import { randomBytes } from 'node:crypto';
import type { CanaryQueue, GatewayMetrics, Logger, Redis, RedisKeys } from '@chat/shared';

export interface CanaryStatus {
  /** A canary came back within the allowed age. */
  ready: boolean;
  /** Round trip of the last canary that came back, ms; null before the first. */
  lastRoundTripMs: number | null;
  /** When the last canary came back (epoch ms); null before the first. */
  lastOkAt: number | null;
}

export interface ReadinessCanaryOptions {
  gatewayId: string;
  intervalMs: number;
  maxAgeMs: number;
}

/**
 * Readiness as a real end-to-end check, not a ping: every `intervalMs` the gateway enqueues a
 * canary, a worker publishes its nonce on this gateway's canary channel, and the gateway's own
 * subscriber connection (the one that carries every session's frames) receives it. A gateway
 * whose subscription silently died, or that no live worker serves, stops being ready after
 * `maxAgeMs`, even while Redis answers pings.
 */
export class ReadinessCanary {
  private readonly channel: string;
  private readonly pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private lastOkAt: number | null = null;
  private lastRoundTripMs: number | null = null;

  constructor(
    private readonly queue: CanaryQueue,
    private readonly subscriber: Redis,
    keys: RedisKeys,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly options: ReadinessCanaryOptions,
  ) {
    this.channel = keys.canaryChannel(options.gatewayId);
    metrics.trackReadiness(() => this.status().ready);
  }

  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    await this.subscriber.subscribe(this.channel);
    this.send();
    this.timer = setInterval(this.send, this.options.intervalMs);
    this.timer.unref();
  }

  status(now: number = Date.now()): CanaryStatus {
    const ready = this.lastOkAt !== null && now - this.lastOkAt <= this.options.maxAgeMs;
    return { ready, lastRoundTripMs: this.lastRoundTripMs, lastOkAt: this.lastOkAt };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscriber.off('message', this.onMessage);
    this.pending.clear();
  }

  private readonly send = (): void => {
    const nonce = randomBytes(8).toString('hex');
    const sentAt = Date.now();
    // Forget canaries that never came back, so the map stays small whatever happens.
    for (const [old, at] of this.pending) if (sentAt - at > this.options.maxAgeMs) this.pending.delete(old);
    this.pending.set(nonce, sentAt);
    this.queue.add('canary', { gateway_id: this.options.gatewayId, nonce, sent_at: sentAt }).catch((err: unknown) => {
      this.logger.debug({ err: String(err) }, 'readiness canary could not be enqueued');
    });
  };

  private readonly onMessage = (channel: string, nonce: string): void => {
    if (channel !== this.channel) return;
    const sentAt = this.pending.get(nonce);
    if (sentAt === undefined) return;
    this.pending.delete(nonce);
    const now = Date.now();
    const wasReady = this.status(now).ready;
    this.lastOkAt = now;
    this.lastRoundTripMs = now - sentAt;
    this.metrics.canaryReturned(this.lastRoundTripMs);
    if (!wasReady) this.logger.info({ round_trip_ms: this.lastRoundTripMs }, 'readiness canary came back: ready');
  };
}
