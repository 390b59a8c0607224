import {
  FrameKind,
  endsTurn,
  envelopeMessageId,
  readEnvelopeHeader,
  envelopeMessageIdBytes,
  hasMessageId,
  NO_SEQ,
  type EnvelopeHeader,
  type GatewayMetrics,
  type Logger,
  type OutboundFrameKind,
  type Redis,
  type RedisKeys,
  type SessionStore,
  type TurnLog,
} from '@chat/shared';
import type { TemplatedApp } from './uws-types.js';
import type { SlowClients } from './ws/slow-clients.js';

/** Receives the frames of a session's turns on this gateway (REST `?wait=1` and SSE use it). */
export type TurnFrameListener = (kind: FrameKind, frame: Buffer) => void;

/** Receives every envelope of a session as it arrives (a resuming socket buffers them). */
export type EnvelopeTap = (envelope: Buffer, header: EnvelopeHeader) => void;

interface SessionSubscription {
  sessionId: string;
  channel: string;
  /** Sockets and listeners on this gateway that need the session's frames. */
  refs: number;
  ready: Promise<void>;
  listeners: Set<TurnFrameListener>;
  taps: Set<EnvelopeTap>;
  /**
   * The last turn frame relayed: its message id (copied once per turn; never a view of an
   * ioredis buffer, which may be reused), seq, publish time and whether it ended the turn. Used
   * to drop repeats and to know where to fill a hole from.
   */
  lastMessageId: Buffer | null;
  lastSeq: number;
  lastPublishedAt: number;
  lastEnded: boolean;
  /** While non-null, frames are held here instead of relayed (the subscription is recovering). */
  held: Buffer[] | null;
}

/** How many recent turn endings a gateway remembers (about 40 bytes each). */
const ENDED_TURNS_KEPT = 20_000;

const KIND_NAMES: Record<number, OutboundFrameKind> = {
  [FrameKind.chunk]: 'chunk',
  [FrameKind.complete]: 'complete',
  [FrameKind.error]: 'error',
  [FrameKind.reset]: 'reset',
};

export interface SessionRelayDeps {
  subscriber: Redis;
  keys: RedisKeys;
  app: TemplatedApp;
  metrics: GatewayMetrics;
  logger: Logger;
  turnLog: TurnLog;
  store: SessionStore;
  /** Sockets reading slower than the stream get merged chunks from here, off the topic. */
  slowClients: SlowClients;
}

/**
 * Relays session channels from Redis to this gateway's sockets. The gateway subscribes to a
 * session's channel while it holds at least one socket (or REST listener) of that session and
 * unsubscribes when the last one leaves.
 *
 * Per frame it does the least it can: one map lookup, read the envelope header, and hand the
 * frame's bytes to uWS, which fans them out to every socket subscribed to the session's topic.
 * The JSON is never parsed or re-encoded on this path.
 *
 * Pub/sub is at-most-once: frames published while the subscriber connection is down are gone.
 * From the moment it drops, frames are held; once it is back, each subscribed session's turns
 * in progress are read back from their logs after the last seq relayed here, sent, and then the
 * held frames newer than that: the sockets see no gap and no duplicate.
 */
export class SessionRelay {
  private readonly bySession = new Map<string, SessionSubscription>();
  private readonly byChannel = new Map<string, SessionSubscription>();
  private malformedLogged = false;
  /** Message ids of turns whose ending this gateway relayed lately (insertion order, bounded). */
  private readonly endedTurns = new Set<string>();
  private connectedBefore = false;
  private recovering = false;

  constructor(private readonly deps: SessionRelayDeps) {
    deps.subscriber.on('messageBuffer', this.onMessage);
    deps.subscriber.on('close', this.onConnectionLost);
    deps.subscriber.on('ready', this.onConnectionReady);
    if (deps.subscriber.status === 'ready') this.connectedBefore = true;
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
    const channel = this.deps.keys.sessionChannel(sessionId);
    const subscription: SessionSubscription = {
      sessionId,
      channel,
      refs: 1,
      listeners: new Set(),
      taps: new Set(),
      lastMessageId: null,
      lastSeq: NO_SEQ,
      lastPublishedAt: 0,
      lastEnded: false,
      held: null,
      ready: this.deps.subscriber.subscribe(channel).then(
        () => undefined,
        (err: unknown) => {
          this.deps.logger.warn({ err: String(err), session_id: sessionId }, 'subscribe failed');
          throw err;
        },
      ),
    };
    // A failed subscribe is reported to whoever awaits `ready`; do not let it go unhandled.
    subscription.ready.catch(() => {});
    this.bySession.set(sessionId, subscription);
    this.byChannel.set(channel, subscription);
    this.deps.metrics.setSubscriptions(this.bySession.size);
  }

  /** Drops one user; unsubscribes when it was the last. */
  release(sessionId: string): void {
    const subscription = this.bySession.get(sessionId);
    if (!subscription) return;
    if (--subscription.refs > 0) return;
    this.bySession.delete(sessionId);
    this.byChannel.delete(subscription.channel);
    this.deps.metrics.setSubscriptions(this.bySession.size);
    this.deps.subscriber.unsubscribe(subscription.channel).catch((err: unknown) => {
      this.deps.logger.warn({ err: String(err), session_id: sessionId }, 'unsubscribe failed');
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

  /**
   * Sees every envelope the session's subscription relays from now on (the caller must hold a
   * retain on the session); returns the function that stops.
   */
  tap(sessionId: string, tap: EnvelopeTap): () => void {
    const subscription = this.bySession.get(sessionId);
    if (!subscription) throw new Error(`not subscribed to session ${sessionId}`);
    subscription.taps.add(tap);
    return () => subscription.taps.delete(tap);
  }

  /** How far this gateway relayed that turn (its last seq), if it was the session's last turn here. */
  lastSeqRelayed(sessionId: string, messageId: string): number | null {
    const subscription = this.bySession.get(sessionId);
    if (!subscription?.lastMessageId || subscription.lastMessageId.toString('latin1') !== messageId) return null;
    return subscription.lastSeq;
  }

  /** Whether this gateway relayed the ending of that turn lately (the watchdog asks). */
  relayedEndingOf(messageId: string): boolean {
    return this.endedTurns.has(messageId);
  }

  private rememberEnded(messageId: string): void {
    if (messageId === '') return;
    this.endedTurns.add(messageId);
    if (this.endedTurns.size > ENDED_TURNS_KEPT) this.endedTurns.delete(this.endedTurns.values().next().value!);
  }

  /** Unsubscribes from everything (shutdown). */
  async close(): Promise<void> {
    this.deps.subscriber.off('messageBuffer', this.onMessage);
    this.deps.subscriber.off('close', this.onConnectionLost);
    this.deps.subscriber.off('ready', this.onConnectionReady);
    this.bySession.clear();
    this.byChannel.clear();
    this.deps.metrics.setSubscriptions(0);
  }

  private recordTurnEnd(kind: FrameKind, frame: Buffer): void {
    try {
      const parsed = JSON.parse(frame.toString('utf8')) as { code?: string; metadata?: { ttft_ms?: number; response_time_ms?: number } };
      if (kind === FrameKind.complete) this.deps.metrics.turnCompleted(parsed.metadata?.ttft_ms ?? 0, parsed.metadata?.response_time_ms ?? 0);
      else this.deps.metrics.turnFailed(parsed.code ?? 'unknown');
    } catch {
      // A frame we cannot read is still relayed; it just goes uncounted.
    }
  }

  private readonly onMessage = (channel: Buffer, payload: Buffer): void => {
    const subscription = this.byChannel.get(channel.toString('latin1'));
    if (!subscription) return; // unsubscribed while the message was in flight
    if (subscription.held) {
      // Kept across awaits: copied (ioredis may reuse the buffer behind `payload`).
      subscription.held.push(Buffer.from(payload));
      return;
    }
    this.relay(subscription, payload);
  };

  /** Hands one envelope to the session's sockets, listeners and taps. */
  private relay(subscription: SessionSubscription, payload: Buffer, header: EnvelopeHeader | null = readEnvelopeHeader(payload)): void {
    if (!header) {
      if (!this.malformedLogged) this.deps.logger.warn({ channel: subscription.channel }, 'dropped a message that is not a frame envelope');
      this.malformedLogged = true;
      return;
    }
    if (header.kind === FrameKind.sync) {
      // A gateway's own marker (see SocketResume): for taps only, never for clients.
      for (const tap of subscription.taps) tap(payload, header);
      return;
    }
    // A turn's frames reach a session in strictly rising seq (one turn at a time per session; a
    // reset takes the next seq). One already relayed (the same frame from a turn log and from
    // the channel around a reconnect) is dropped here, so no path hands a socket a duplicate.
    // A repeat is also no newer than the last frame relayed: a lower seq published later is a
    // new run of the turn (a dead letter replayed, a takeover after Redis lost its state).
    if (header.seq !== NO_SEQ) {
      const sameTurn = subscription.lastMessageId !== null && hasMessageId(payload, subscription.lastMessageId);
      if (sameTurn) {
        const repeat = header.seq <= subscription.lastSeq && header.publishedAtMs <= subscription.lastPublishedAt;
        if (repeat) {
          this.deps.metrics.duplicateDropped();
          return;
        }
      } else {
        subscription.lastMessageId = envelopeMessageIdBytes(payload);
      }
      subscription.lastSeq = header.seq;
      subscription.lastPublishedAt = header.publishedAtMs;
      subscription.lastEnded = endsTurn(header.kind);
    }
    const frame = payload.subarray(header.bodyOffset);
    this.deps.app.publish(subscription.sessionId, frame, false);
    if (this.deps.slowClients.hasSlow(subscription.sessionId)) this.deps.slowClients.deliver(subscription.sessionId, header.kind, frame);
    this.deps.metrics.frameRelayed(KIND_NAMES[header.kind]!, Date.now() - header.publishedAtMs);
    // Once per turn (never per token) the last frame is read for the per-turn figures.
    if (endsTurn(header.kind)) {
      this.recordTurnEnd(header.kind, frame);
      this.rememberEnded(envelopeMessageId(payload));
    }
    if (subscription.listeners.size > 0) {
      for (const listener of subscription.listeners) listener(header.kind, frame);
    }
    if (subscription.taps.size > 0) {
      for (const tap of subscription.taps) tap(payload, header);
    }
  }

  /** The subscriber connection dropped: hold every frame until the hole is filled. */
  private readonly onConnectionLost = (): void => {
    for (const subscription of this.bySession.values()) subscription.held ??= [];
  };

  private readonly onConnectionReady = (): void => {
    if (!this.connectedBefore) {
      this.connectedBefore = true;
      return;
    }
    void this.recover();
  };

  /**
   * After a reconnect: re-subscribe (and wait for Redis to confirm), then, per session, send
   * what its turns logged after the last frame relayed here, then the frames held meanwhile
   * that are newer. A session whose recovery fails has its held frames relayed as they are.
   */
  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      const subscriptions = [...this.bySession.values()];
      for (const subscription of subscriptions) subscription.held ??= [];
      if (subscriptions.length > 0) await this.deps.subscriber.subscribe(...subscriptions.map((s) => s.channel));
      let recovered = 0;
      for (const subscription of subscriptions) {
        try {
          recovered += await this.fillHole(subscription);
        } catch (err) {
          this.deps.logger.warn({ err: String(err), session_id: subscription.sessionId }, 'could not fill a session channel hole from its turn log');
        } finally {
          const held = subscription.held ?? [];
          subscription.held = null;
          for (const payload of held) this.relay(subscription, payload);
        }
      }
      this.deps.metrics.framesRecoveredFromLog('resubscribe', recovered);
      this.deps.logger.info({ sessions: subscriptions.length, frames_recovered: recovered }, 'session subscriptions restored after a reconnect');
    } catch (err) {
      // Subscribing failed (Redis went away again): the next 'ready' retries.
      this.deps.logger.warn({ err: String(err) }, 'restoring session subscriptions failed');
      for (const subscription of this.bySession.values()) {
        const held = subscription.held ?? [];
        subscription.held = null;
        for (const payload of held) this.relay(subscription, payload);
      }
    } finally {
      this.recovering = false;
    }
  }

  /**
   * Sends a session's missed frames from its turns' logs: the turn relayed last (after its last
   * seq, unless it had ended) and every unanswered turn of the session (from its start). Held
   * frames already covered are dropped from `held`. Returns the number of frames sent.
   */
  private async fillHole(subscription: SessionSubscription): Promise<number> {
    const after = new Map<string, number>();
    if (subscription.lastMessageId && !subscription.lastEnded) after.set(subscription.lastMessageId.toString('latin1'), subscription.lastSeq);
    for (const messageId of await this.deps.store.unansweredTurns(subscription.sessionId)) if (!after.has(messageId)) after.set(messageId, -1);
    let sent = 0;
    const sentUpTo = new Map<string, number>();
    for (const [messageId, afterSeq] of after) {
      const read = await this.deps.turnLog.read(subscription.sessionId, messageId, afterSeq);
      for (const frame of read.frames) {
        this.relay(subscription, frame.envelope);
        sentUpTo.set(messageId, frame.seq);
        sent++;
      }
    }
    if (subscription.held && sentUpTo.size > 0) {
      subscription.held = subscription.held.filter((payload) => {
        const header = readEnvelopeHeader(payload);
        const upTo = header ? sentUpTo.get(envelopeMessageId(payload)) : undefined;
        return upTo === undefined || header!.seq > upTo;
      });
    }
    return sent;
  }
}
