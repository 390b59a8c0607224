import { randomBytes } from 'node:crypto';
import type { CanaryQueue, ChannelSubscriber, GatewayMetrics, Logger, RedisKeys } from '@chat/shared';

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
 * subscriber connection (the one that carries every session's frames; on a cluster, its
 * connection to the master of this channel's slot: SubscriptionProbe watches the others)
 * receives it. A gateway
 * whose subscription silently died, or that no live worker serves, stops being ready after
 * `maxAgeMs`, even while Redis answers pings.
 *
 * It also heals what it can see. Before each canary it looks at the previous one's job, unless
 * that one came back: still waiting means no worker runs (it is removed, so the canary queue
 * holds at most one canary per gateway however long the workers are away); answered by a worker
 * while nothing came back and readiness has lapsed means this gateway's subscription is deaf (a
 * half-open connection, a subscription Redis dropped): the subscriber connection is reopened,
 * which re-subscribes every session and fills the hole from the turn logs (SessionRelay). At most
 * once per `maxAgeMs`.
 */
export class ReadinessCanary {
  private readonly channel: string;
  private readonly channelBytes: Buffer;
  private readonly pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private lastOkAt: number | null = null;
  private lastRoundTripMs: number | null = null;
  /** The last canary sent (its nonce is its job id). */
  private lastSent: string | null = null;
  private lastHealAt = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly queue: CanaryQueue,
    private readonly subscriber: ChannelSubscriber,
    keys: RedisKeys,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly options: ReadinessCanaryOptions,
    /** Told, before the subscriber is reopened, since when it may have heard nothing. */
    private readonly onDeaf: (sinceMs: number) => void = () => {},
  ) {
    this.channel = keys.canaryChannel(options.gatewayId);
    this.channelBytes = Buffer.from(this.channel);
    metrics.trackReadiness(() => this.status().ready);
  }

  async start(): Promise<void> {
    this.subscriber.on('messageBuffer', this.onMessage);
    this.subscriber.on('restored', this.onRestored);
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
    this.subscriber.off('messageBuffer', this.onMessage);
    this.subscriber.off('restored', this.onRestored);
    this.pending.clear();
  }

  private readonly send = (): void => {
    const previous = this.lastSent;
    // One that came back left `pending`: the path worked, and there is nothing to inspect or
    // heal (a Redis read per canary saved, which idle costs are made of).
    const previousMissing = previous !== null && this.pending.has(previous);
    const nonce = randomBytes(8).toString('hex');
    const sentAt = Date.now();
    // Forget canaries that never came back, so the map stays small whatever happens.
    for (const [old, at] of this.pending) if (sentAt - at > this.options.maxAgeMs) this.pending.delete(old);
    this.pending.set(nonce, sentAt);
    this.lastSent = nonce;
    this.queue.add('canary', { gateway_id: this.options.gatewayId, nonce, sent_at: sentAt }, { jobId: nonce }).catch((err: unknown) => {
      this.logger.debug({ err: String(err) }, 'readiness canary could not be enqueued');
    });
    if (previousMissing) {
      this.inspect(previous, sentAt).catch((err: unknown) => {
        this.logger.debug({ err: String(err) }, 'previous readiness canary could not be inspected');
      });
    }
  };

  /** What became of the previous canary (see the class comment). */
  private async inspect(nonce: string, now: number): Promise<void> {
    const state = await this.queue.getJobState(nonce);
    if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
      await this.queue.remove(nonce);
      return;
    }
    // A worker published it (the job completed), yet it never came back. Not `failed` (the
    // worker could not publish) nor gone (never enqueued): those say nothing of the subscription.
    const deaf = state === 'completed' && this.pending.has(nonce) && !this.status(now).ready;
    const heldOff = now - Math.max(this.lastHealAt, this.startedAt) < this.options.maxAgeMs;
    if (!deaf || heldOff || this.subscriber.status !== 'ready') return;
    this.lastHealAt = now;
    this.metrics.subscriberReopened();
    this.logger.warn('canaries are answered but none comes back: the subscription is deaf; reopening the subscriber connection');
    // Deaf since the last canary that came back, at the latest: the fill starts there.
    this.onDeaf(this.lastOkAt ?? this.startedAt);
    // Reconnects and re-subscribes every channel; SessionRelay holds frames and fills the hole.
    this.subscriber.reopen();
  }

  /**
   * The canary's channel is back after a loss: subscribe it again (ioredis does on reconnect,
   * but not on a new master's connection after a move whose SUBSCRIBE failed).
   */
  private readonly onRestored = (channels: readonly string[]): void => {
    if (!channels.includes(this.channel)) return;
    this.subscriber.subscribe(this.channel).catch((err: unknown) => this.logger.debug({ err: String(err) }, 'readiness canary channel could not be subscribed again'));
  };

  // Every session frame of this gateway passes here too: compare bytes, decode only a canary.
  private readonly onMessage = (channel: Buffer, payload: Buffer): void => {
    if (channel.length !== this.channelBytes.length || !channel.equals(this.channelBytes)) return;
    const nonce = payload.toString();
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
