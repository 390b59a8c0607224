import { FrameKind, readEnvelopeHeader, ENVELOPE_HEADER_BYTES, type GatewayMetrics, type Logger, type Redis, type RedisKeys, type OutboundFrameKind } from '@chat/shared';
import type { TemplatedApp } from './uws-types.js';

/** Receives the frames of a session's turns on this gateway (REST `?wait=1` and SSE use it). */
export type TurnFrameListener = (kind: FrameKind, frame: Buffer) => void;

interface SessionSubscription {
  sessionId: string;
  channel: string;
  /** Sockets and listeners on this gateway that need the session's frames. */
  refs: number;
  ready: Promise<void>;
  listeners: Set<TurnFrameListener>;
}

const KIND_NAMES: Record<number, OutboundFrameKind> = {
  [FrameKind.chunk]: 'chunk',
  [FrameKind.complete]: 'complete',
  [FrameKind.error]: 'error',
};

/**
 * Relays session channels from Redis to this gateway's sockets. The gateway subscribes to a
 * session's channel while it holds at least one socket (or REST listener) of that session and
 * unsubscribes when the last one leaves.
 *
 * Per frame it does the least it can: one map lookup, read the 9-byte envelope header, and hand
 * the frame's bytes to uWS, which fans them out to every socket subscribed to the session's
 * topic. The JSON is never parsed or re-encoded on this path.
 */
export class SessionRelay {
  private readonly bySession = new Map<string, SessionSubscription>();
  private readonly byChannel = new Map<string, SessionSubscription>();
  private malformedLogged = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly app: TemplatedApp,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
  ) {
    subscriber.on('messageBuffer', this.onMessage);
  }

  /** Number of session channels subscribed. */
  get subscriptionCount(): number {
    return this.bySession.size;
  }

  /** Registers one more user of the session's frames; subscribes on the first. */
  retain(sessionId: string): void {
    const existing = this.bySession.get(sessionId);
    if (existing) {
      existing.refs++;
      return;
    }
    const channel = this.keys.sessionChannel(sessionId);
    const subscription: SessionSubscription = {
      sessionId,
      channel,
      refs: 1,
      listeners: new Set(),
      ready: this.subscriber.subscribe(channel).then(
        () => undefined,
        (err: unknown) => {
          this.logger.warn({ err: String(err), session_id: sessionId }, 'subscribe failed');
          throw err;
        },
      ),
    };
    // A failed subscribe is reported to whoever awaits `ready`; do not let it go unhandled.
    subscription.ready.catch(() => {});
    this.bySession.set(sessionId, subscription);
    this.byChannel.set(channel, subscription);
    this.metrics.setSubscriptions(this.bySession.size);
  }

  /** Drops one user; unsubscribes when it was the last. */
  release(sessionId: string): void {
    const subscription = this.bySession.get(sessionId);
    if (!subscription) return;
    if (--subscription.refs > 0) return;
    this.bySession.delete(sessionId);
    this.byChannel.delete(subscription.channel);
    this.metrics.setSubscriptions(this.bySession.size);
    this.subscriber.unsubscribe(subscription.channel).catch((err: unknown) => {
      this.logger.warn({ err: String(err), session_id: sessionId }, 'unsubscribe failed');
    });
  }

  /**
   * Resolves once the session's channel is subscribed. A turn is enqueued only after this, so
   * its first frames cannot be published before this gateway listens.
   */
  ready(sessionId: string): Promise<void> {
    return this.bySession.get(sessionId)?.ready ?? Promise.reject(new Error(`not subscribed to session ${sessionId}`));
  }

  /** Listens to a session's frames (retaining its subscription); returns the function that stops. */
  listen(sessionId: string, listener: TurnFrameListener): () => void {
    this.retain(sessionId);
    const subscription = this.bySession.get(sessionId)!;
    subscription.listeners.add(listener);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      subscription.listeners.delete(listener);
      this.release(sessionId);
    };
  }

  /** Unsubscribes from everything (shutdown). */
  async close(): Promise<void> {
    this.subscriber.off('messageBuffer', this.onMessage);
    this.bySession.clear();
    this.byChannel.clear();
    this.metrics.setSubscriptions(0);
  }

  private recordTurnEnd(kind: FrameKind, frame: Buffer): void {
    try {
      const parsed = JSON.parse(frame.toString('utf8')) as { code?: string; metadata?: { ttft_ms?: number; response_time_ms?: number } };
      if (kind === FrameKind.complete) this.metrics.turnCompleted(parsed.metadata?.ttft_ms ?? 0, parsed.metadata?.response_time_ms ?? 0);
      else this.metrics.turnFailed(parsed.code ?? 'unknown');
    } catch {
      // A frame we cannot read is still relayed; it just goes uncounted.
    }
  }

  private readonly onMessage = (channel: Buffer, payload: Buffer): void => {
    const subscription = this.byChannel.get(channel.toString('latin1'));
    if (!subscription) return; // unsubscribed while the message was in flight
    const header = readEnvelopeHeader(payload);
    if (!header) {
      if (!this.malformedLogged) this.logger.warn({ channel: subscription.channel }, 'dropped a message that is not a frame envelope');
      this.malformedLogged = true;
      return;
    }
    const frame = payload.subarray(ENVELOPE_HEADER_BYTES);
    this.app.publish(subscription.sessionId, frame, false);
    this.metrics.frameRelayed(KIND_NAMES[header.kind]!, Date.now() - header.publishedAtMs);
    // Once per turn (never per token) the last frame is read for the per-turn figures.
    if (header.kind !== FrameKind.chunk) this.recordTurnEnd(header.kind, frame);
    if (subscription.listeners.size > 0) {
      for (const listener of subscription.listeners) listener(header.kind, frame);
    }
  };
}
