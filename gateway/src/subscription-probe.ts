import { randomBytes } from 'node:crypto';
import type { ChannelSubscriber, GatewayMetrics, Logger, RedisClient, RedisKeys } from '@chat/shared';

export interface SubscriptionProbeOptions {
  gatewayId: string;
  intervalMs: number;
  /** A master whose probes have not come back for this long while its connection is up is deaf. */
  maxAgeMs: number;
}

/** A probe channel on one master, and what came back on it. */
interface MasterProbe {
  channel: string;
  channelBytes: Buffer;
  /** The last probe that came back, or when the probe began (ms): a fill after a reopen starts there. */
  lastOkAt: number;
  /**
   * When the oldest probe that Redis took (its SPUBLISH answered) and that has not come back was
   * sent; null while nothing is owed. A probe Redis refused (the cluster down) proves nothing.
   */
  owedSince: number | null;
  /** The nonce of the last probe that came back (it may arrive before its SPUBLISH's reply). */
  lastNonce: string;
  /** Bumped when the probe starts anew (restored, reopened): replies to older probes are ignored. */
  generation: number;
  /** Redis confirmed the probe channel's SUBSCRIBE: only then can a missing probe mean deafness. */
  subscribed: boolean;
  lastHealAt: number;
}

/** How many slot-picking suffixes to try for a master's probe channel (a master owns ≥ 1 slot in 16 384). */
const MAX_PLACEMENT_TRIES = 200_000;

/**
 * On a cluster a gateway holds one subscriber connection per master, and the readiness canary
 * (ReadinessCanary) comes back on one of them only: a subscription another master silently
 * dropped, or a half-open connection to it, would leave that master's sessions without frames,
 * unseen. So every `intervalMs` the gateway publishes a nonce on a probe channel of its own on
 * each master (`SPUBLISH` from its command client: no worker involved, the worker path is the
 * canary's to check) and listens for it on its subscriber. A master whose probes have not come
 * back for `maxAgeMs` while its connection is up gets that connection reopened (at most once per
 * `maxAgeMs`): ioredis subscribes again, and the relay refills that master's sessions from the
 * turn logs from the last probe that came back (`onDeaf` is told first).
 *
 * One Redis has one subscriber connection, which the canary already checks: not used there.
 */
export class SubscriptionProbe {
  private readonly probes = new Map<string, MasterProbe>();
  /** Byte lengths of the probe channels: a session frame's channel rarely has one (a cheap first test). */
  private lengths = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: ChannelSubscriber,
    private readonly keys: RedisKeys,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly options: SubscriptionProbeOptions,
    /** Told, before a master's connection is reopened, since when its channels may have heard nothing. */
    private readonly onDeaf: (sinceMs: number, channels: readonly string[]) => void = () => {},
  ) {}

  start(): void {
    this.subscriber.on('messageBuffer', this.onMessage);
    this.subscriber.on('restored', this.onRestored);
    this.timer = setInterval(this.tick, this.options.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscriber.off('messageBuffer', this.onMessage);
    this.subscriber.off('restored', this.onRestored);
    this.probes.clear();
  }

  private readonly tick = (): void => {
    try {
      this.probe(Date.now());
    } catch (err) {
      // The slot map is not known yet (the cluster client is connecting): the next tick.
      this.logger.debug({ err: String(err) }, 'subscription probe skipped');
    }
  };

  private probe(now: number): void {
    const nodes = this.subscriber.masters();
    for (const [node, probe] of this.probes) {
      // Where the subscriber placed it: a moved slot moves the channel there too (onTopology).
      if (nodes.includes(node) && this.subscriber.nodeOf(probe.channel) === node) continue;
      // The master left, or the probe's slot moved: placed anew below.
      this.probes.delete(node);
      void this.subscriber.unsubscribe(probe.channel).catch(() => {});
    }
    for (const node of nodes) {
      const probe = this.probes.get(node) ?? this.place(node, now);
      if (!probe) continue;
      this.judge(node, probe, now);
      const nonce = randomBytes(6).toString('hex');
      const generation = probe.generation;
      this.publisher.spublish(probe.channel, nonce).then(
        () => {
          // Stamped when Redis answered: a reply queued through an outage is not an old debt.
          if (probe.lastNonce !== nonce && probe.generation === generation) probe.owedSince ??= Date.now();
        },
        (err: unknown) => this.logger.debug({ err: String(err), node }, 'subscription probe could not be published'),
      );
    }
    this.lengths = new Set([...this.probes.values()].map((p) => p.channelBytes.length));
  }

  /** A probe channel in a slot the master owns, subscribed; null when none is found (a master with no slot). */
  private place(node: string, now: number): MasterProbe | null {
    for (let n = 0; n < MAX_PLACEMENT_TRIES; n++) {
      const channel = this.keys.subscriptionProbeChannel(this.options.gatewayId, n);
      if (this.subscriber.ownerOf(channel) !== node) continue;
      const probe: MasterProbe = { channel, channelBytes: Buffer.from(channel), lastOkAt: now, owedSince: null, lastNonce: '', generation: 0, subscribed: false, lastHealAt: 0 };
      this.probes.set(node, probe);
      this.subscribeProbe(node, probe);
      return probe;
    }
    return null;
  }

  /** Subscribes the probe's channel; one that fails is placed anew at the next tick. */
  private subscribeProbe(node: string, probe: MasterProbe): void {
    probe.subscribed = false;
    this.subscriber.subscribe(probe.channel).then(
      () => {
        probe.subscribed = true;
      },
      (err: unknown) => {
        this.logger.debug({ err: String(err), node }, 'subscription probe could not subscribe');
        if (this.probes.get(node) === probe) this.probes.delete(node);
      },
    );
  }

  /** Deaf: the connection is up, yet a probe Redis took `maxAgeMs` ago has not come back. */
  private judge(node: string, probe: MasterProbe, now: number): void {
    if (!probe.subscribed || probe.owedSince === null || now - probe.owedSince <= this.options.maxAgeMs) return;
    // Down or recovering: the loss is known, and `restored` will refill it.
    if (!this.subscriber.isListening(probe.channel)) return;
    if (now - probe.lastHealAt < this.options.maxAgeMs) return;
    probe.lastHealAt = now;
    this.metrics.subscriberReopened();
    this.logger.warn({ node }, "probes published on this master do not come back: the gateway's subscription to it is deaf; reopening that connection");
    this.onDeaf(probe.lastOkAt, this.subscriber.channelsOn(node));
    probe.owedSince = null;
    probe.generation++;
    this.subscriber.reopen(node);
  }

  private readonly onMessage = (channel: Buffer, payload: Buffer): void => {
    if (!this.lengths.has(channel.length)) return;
    for (const probe of this.probes.values()) {
      if (probe.channelBytes.equals(channel)) {
        probe.lastOkAt = Date.now();
        probe.owedSince = null;
        probe.lastNonce = payload.toString();
        return;
      }
    }
  };

  /**
   * A probe channel is restored after a loss: subscribe it again (ioredis does on reconnect, but
   * not a channel Redis dropped unasked) and give it a new grace.
   */
  private readonly onRestored = (channels: readonly string[]): void => {
    for (const [node, probe] of this.probes) {
      if (!channels.includes(probe.channel)) continue;
      probe.owedSince = null;
      probe.generation++;
      this.subscribeProbe(node, probe);
    }
  };
}
