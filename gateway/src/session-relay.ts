import {
  SpanKind,
  type Tracing,
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
  type ChannelSubscriber,
  isRedirection,
  type RedisKeys,
  type SessionStore,
  type TurnLog,
  type TurnLogRead,
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
  /** When this gateway began to need the session's frames (ms): it owes its sockets none older. */
  createdAt: number;
  /** The latest SUBSCRIBE attempt: settles once Redis confirms the channel, or refuses it. */
  ready: Promise<void>;
  /** The latest SUBSCRIBE failed: the next `ready()` (or a reconnect) subscribes again. */
  subscribeFailed: boolean;
  /**
   * Since when (ms) frames may be missing here: the subscriber connection dropped, or the channel
   * was never subscribed. Null while nothing is owed. The next hole fill starts from here.
   */
  missingSince: number | null;
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
  /** Counts the times the channel was lost: a hole fill that saw one happen keeps its frames held. */
  losses: number;
}

/** How many recent turn endings a gateway remembers (about 40 bytes each). */
const ENDED_TURNS_KEPT = 20_000;

/**
 * A hole fill looks at the session's turns begun up to this long before the hole opened: one
 * begun earlier may still have had no frame relayed here by then (a model slow to its first
 * token) and ended inside the hole.
 */
const RECENT_TURN_LOOKBACK_MS = 60_000;

/**
 * A turn's ending is stamped by its writer's clock and a hole's start by this gateway's: a turn
 * that ended this little before the hole (or before its socket connected) still counts as
 * missed rather than risk a turn missing its ending because two clocks disagree.
 */
const CLOCK_SKEW_ALLOWANCE_MS = 250;

/** Sessions whose holes are filled at the same time after a reconnect (see restorePass). */
const HOLE_FILLS_AT_ONCE = 32;

const KIND_NAMES: Record<number, OutboundFrameKind> = {
  [FrameKind.chunk]: 'chunk',
  [FrameKind.complete]: 'complete',
  [FrameKind.error]: 'error',
  [FrameKind.reset]: 'reset',
};

export interface SessionRelayDeps {
  subscriber: ChannelSubscriber;
  keys: RedisKeys;
  app: TemplatedApp;
  metrics: GatewayMetrics;
  logger: Logger;
  turnLog: TurnLog;
  store: SessionStore;
  /** Sockets reading slower than the stream get merged chunks from here, off the topic. */
  slowClients: SlowClients;
  /** Traces: a `chat.relay` span per turn ending, in the worker's trace. Default: off. */
  tracing?: Tracing;
  /**
   * An error frame outside any turn (no seq) ended the session for good (it was erased): after
   * its frame has gone to the sockets, this closes them.
   */
  onSessionEnded?: (sessionId: string) => void;
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
 * From the moment a connection drops, the frames of the sessions it carried are held (on a
 * cluster, the sessions of that master only: the others stream on); once it is back, each of
 * those sessions' turns in progress, and those that began and ended meanwhile (found among the
 * session's recent turns), are read back from their logs after the last seq relayed here, sent,
 * and then the held frames newer than that: the sockets see no gap and no duplicate. A channel
 * whose SUBSCRIBE failed is treated the same way once a later attempt succeeds.
 */
export class SessionRelay {
  private readonly bySession = new Map<string, SessionSubscription>();
  private readonly byChannel = new Map<string, SessionSubscription>();
  private malformedLogged = false;
  /** Turns whose ending this gateway relayed lately, and when (insertion order, bounded). */
  private readonly endedTurns = new Map<string, number>();
  /** Subscriptions waiting for a hole fill (see restore); one pass runs at a time. */
  private readonly toRestore = new Map<string, Set<SessionSubscription>>();
  /** Masters whose pass is running: one at a time per master, masters apart from each other. */
  private readonly restoring = new Set<string>();

  constructor(private readonly deps: SessionRelayDeps) {
    deps.subscriber.on('messageBuffer', this.onMessage);
    deps.subscriber.on('lost', this.onChannelsLost);
    deps.subscriber.on('restored', this.onChannelsRestored);
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
      createdAt: Date.now(),
      ready: Promise.resolve(),
      subscribeFailed: false,
      missingSince: null,
      listeners: new Set(),
      taps: new Set(),
      lastMessageId: null,
      lastSeq: NO_SEQ,
      lastPublishedAt: 0,
      lastEnded: false,
      held: null,
      losses: 0,
    };
    this.bySession.set(sessionId, subscription);
    this.byChannel.set(channel, subscription);
    this.deps.metrics.setSubscriptions(this.bySession.size);
    this.subscribeChannel(subscription);
  }

  /**
   * Sends one SUBSCRIBE for the session's channel and makes it the session's `ready`. A failure
   * is remembered, not kept: the next `ready()` tries again rather than hand back the same
   * rejection for as long as the session has a socket here.
   */
  private subscribeChannel(subscription: SessionSubscription): Promise<void> {
    const attempt: Promise<void> = this.deps.subscriber.subscribe(subscription.channel).then(
      () => undefined,
      (err: unknown) => {
        this.deps.logger.warn({ err: String(err), session_id: subscription.sessionId }, 'subscribe failed');
        if (subscription.ready === attempt) {
          subscription.subscribeFailed = true;
          // Not listening: whatever the session's turns publish from now on is missed here.
          subscription.missingSince ??= subscription.createdAt;
        }
        throw err;
      },
    );
    // A failed subscribe is reported to whoever awaits `ready`; do not let it go unhandled.
    attempt.catch(() => {});
    subscription.ready = attempt;
    subscription.subscribeFailed = false;
    return attempt;
  }

  /**
   * Subscribes again after a failed SUBSCRIBE. Frames are held from before it is sent, so the
   * ones it lets through wait behind what the session's turn logs hold for the time it missed.
   */
  private resubscribe(subscription: SessionSubscription): Promise<void> {
    subscription.held ??= [];
    const attempt = this.subscribeChannel(subscription);
    attempt.then(
      () => this.restore([subscription]),
      () => {
        // Refused while connected: nothing will come back by itself. Disconnected: the
        // reconnect's restore takes the held frames over.
        if (this.deps.subscriber.isListening(subscription.channel)) this.releaseHeld(subscription);
      },
    );
    return attempt;
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
    const subscription = this.bySession.get(sessionId);
    if (!subscription) return Promise.reject(new Error(`not subscribed to session ${sessionId}`));
    return subscription.subscribeFailed ? this.resubscribe(subscription) : subscription.ready;
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

  /** When (ms) this gateway relayed the turn's ending lately; undefined if it did not. */
  endingRelayedAt(messageId: string): number | undefined {
    return this.endedTurns.get(messageId);
  }

  private rememberEnded(messageId: string): void {
    if (messageId === '') return;
    // Re-inserted, so the oldest ending is first to go when the map is full.
    this.endedTurns.delete(messageId);
    this.endedTurns.set(messageId, Date.now());
    if (this.endedTurns.size > ENDED_TURNS_KEPT) this.endedTurns.delete(this.endedTurns.keys().next().value!);
  }

  /** Unsubscribes from everything (shutdown). */
  async close(): Promise<void> {
    this.deps.subscriber.off('messageBuffer', this.onMessage);
    this.deps.subscriber.off('lost', this.onChannelsLost);
    this.deps.subscriber.off('restored', this.onChannelsRestored);
    this.bySession.clear();
    this.byChannel.clear();
    this.toRestore.clear();
    this.deps.metrics.setSubscriptions(0);
  }

  private recordTurnEnd(kind: FrameKind, frame: Buffer, publishedAtMs: number): void {
    try {
      const parsed = JSON.parse(frame.toString('utf8')) as { code?: string; message_id?: string; metadata?: { ttft_ms?: number; response_time_ms?: number; traceparent?: string; from_cache?: boolean } };
      if (kind === FrameKind.complete) {
        this.deps.metrics.turnCompleted(parsed.metadata?.ttft_ms ?? 0, parsed.metadata?.response_time_ms ?? 0, parsed.metadata?.from_cache === true);
      }
      else this.deps.metrics.turnFailed(parsed.code ?? 'unknown');
      const tracing = this.deps.tracing;
      if (tracing?.enabled && parsed.metadata?.traceparent) {
        // The ending's way from the worker's publish to this gateway's sockets, in the turn's trace.
        tracing
          .startSpan('chat.relay', {
            parent: parsed.metadata.traceparent,
            kind: SpanKind.CONSUMER,
            startTime: publishedAtMs,
            attributes: { 'chat.message_id': parsed.message_id ?? '', 'chat.frame': 'complete' },
          })
          .end();
      }
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
    if (header.kind === FrameKind.error && header.seq === NO_SEQ) {
      // The session itself ended (DELETE /chat/session/:id, see SessionErasure): its frame to
      // every socket, then they are closed. Not a turn's frame: no ordering, no turn figures.
      this.deps.app.publish(subscription.sessionId, payload.subarray(header.bodyOffset), false);
      this.deps.onSessionEnded?.(subscription.sessionId);
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
    this.deps.slowClients.relayed(subscription.sessionId, header.kind, frame);
    const kindName = KIND_NAMES[header.kind];
    if (kindName === undefined) {
      // A user message: for sockets (and a resuming socket's tap), not for turn listeners, and
      // not an answer frame the per-frame figures count.
      for (const tap of subscription.taps) tap(payload, header);
      return;
    }
    this.deps.metrics.frameRelayed(kindName, Date.now() - header.publishedAtMs);
    // Once per turn (never per token) the last frame is read for the per-turn figures.
    if (endsTurn(header.kind)) {
      this.recordTurnEnd(header.kind, frame, header.publishedAtMs);
      this.rememberEnded(envelopeMessageId(payload));
    }
    if (subscription.listeners.size > 0) {
      for (const listener of subscription.listeners) listener(header.kind, frame);
    }
    if (subscription.taps.size > 0) {
      for (const tap of subscription.taps) tap(payload, header);
    }
  }

  /**
   * Frames may have been missed since `sinceMs` though the connection never dropped (a deaf
   * subscription, found by the readiness canary): the fill after the coming reconnect starts
   * there, so a turn that began and ended while deaf is replayed too. Call before reopening.
   * `channels`: only these (the deaf connection's); default every session.
   */
  markMissingSince(sinceMs: number, channels?: readonly string[]): void {
    for (const subscription of channels ? this.subscriptionsOf(channels) : this.bySession.values()) {
      const since = Math.max(sinceMs, subscription.createdAt);
      subscription.missingSince = subscription.missingSince === null ? since : Math.min(subscription.missingSince, since);
    }
  }

  /** The connection that carried these channels dropped (or their slot moved): hold their frames until the hole is filled. */
  private readonly onChannelsLost = (channels: readonly string[]): void => {
    const lostAt = Date.now();
    for (const subscription of this.subscriptionsOf(channels)) {
      subscription.losses++;
      subscription.held ??= [];
      subscription.missingSince ??= lostAt;
    }
  };

  /** The channels' master is reachable again: subscribe them again and fill their holes. */
  private readonly onChannelsRestored = (channels: readonly string[]): void => {
    this.restore(this.subscriptionsOf(channels));
  };

  /** The subscriptions of these channels (channels that are not sessions', like the canary's, have none). */
  private *subscriptionsOf(channels: readonly string[]): Iterable<SessionSubscription> {
    for (const channel of channels) {
      const subscription = this.byChannel.get(channel);
      if (subscription) yield subscription;
    }
  }

  /**
   * Queues subscriptions for a hole fill: their channels are subscribed again (and Redis has
   * confirmed), then each is sent what its turns logged meanwhile, then the frames held. One
   * pass runs at a time per master; subscriptions queued during a pass get the next one.
   */
  private restore(subscriptions: Iterable<SessionSubscription>): void {
    for (const subscription of subscriptions) {
      subscription.held ??= [];
      const node = this.masterOf(subscription);
      const queued = this.toRestore.get(node);
      if (queued) queued.add(subscription);
      else this.toRestore.set(node, new Set([subscription]));
    }
    for (const node of this.toRestore.keys()) if (!this.restoring.has(node)) void this.runRestorePasses(node);
  }

  private async runRestorePasses(node: string): Promise<void> {
    this.restoring.add(node);
    try {
      for (let queued = this.toRestore.get(node); queued && queued.size > 0; queued = this.toRestore.get(node)) {
        this.toRestore.delete(node);
        const batch = [...queued].filter((subscription) => this.bySession.get(subscription.sessionId) === subscription);
        try {
          await this.restorePass(batch);
        } catch (err) {
          // A listener that threw while held frames were relayed: the next batch still runs.
          this.deps.logger.error({ err: String(err) }, 'a restore pass failed');
        }
      }
    } finally {
      this.restoring.delete(node);
    }
  }

  /**
   * The master a session's channel is on (its group for restore passes): a master that is down
   * again must neither hold up nor fail the other masters' sessions (their SUBSCRIBE would wait
   * in that connection's queue). One group when the slot map is not known, as on one Redis.
   */
  private masterOf(subscription: SessionSubscription): string {
    try {
      return this.deps.subscriber.nodeOf(subscription.channel);
    } catch {
      return '';
    }
  }

  /**
   * Re-subscribes the batch, then per session sends what its turns logged after the last frame
   * relayed here, then the frames held meanwhile that are newer. A session whose fill fails has
   * its held frames relayed as they are.
   */
  private async restorePass(batch: SessionSubscription[]): Promise<void> {
    if (batch.length === 0) return;
    for (const subscription of batch) subscription.held ??= [];
    // A session whose channel drops again during the pass stays held: the pass its `restored`
    // queues fills it from the same point, after subscribing again (a fill read before that
    // could miss frames).
    const lossesBefore = new Map(batch.map((s) => [s, s.losses]));
    const unchanged = (s: SessionSubscription): boolean => s.losses === lossesBefore.get(s);
    try {
      await this.deps.subscriber.subscribe(...batch.map((s) => s.channel));
    } catch (err) {
      this.deps.logger.warn({ err: String(err) }, 'restoring session subscriptions failed');
      for (const subscription of batch) {
        if (!unchanged(subscription)) continue;
        // The session subscribes again at its next ready(), whatever comes first.
        subscription.subscribeFailed = true;
        // Its master is away, or its slot moved (the subscriber re-reads the map and moves the
        // channel): its `restored` queues another pass, which fills from the same point.
        if (isRedirection(err) || !this.deps.subscriber.isListening(subscription.channel)) continue;
        // Refused while connected: nothing will come back by itself.
        this.releaseHeld(subscription);
      }
      return;
    }
    for (const subscription of batch) {
      // Subscribed now, whatever an earlier attempt said: ready() must stop failing.
      if (subscription.subscribeFailed) {
        subscription.subscribeFailed = false;
        subscription.ready = Promise.resolve();
      }
    }
    let recovered = 0;
    // Sessions are independent: several fills at once keep the connection's pipe full (one
    // after another, each waits out its own round trips while the batch's frames are held).
    let next = 0;
    const fillNext = async (): Promise<void> => {
      while (next < batch.length) {
        const subscription = batch[next++]!;
        if (!unchanged(subscription)) continue;
        try {
          // Not `recovered += await …`: that would read `recovered` before the other fills add.
          const sent = await this.fillHole(subscription);
          recovered += sent;
        } catch (err) {
          this.deps.logger.warn({ err: String(err), session_id: subscription.sessionId }, 'could not fill a session channel hole from its turn log');
        } finally {
          if (unchanged(subscription)) {
            subscription.missingSince = null;
            this.releaseHeld(subscription);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(HOLE_FILLS_AT_ONCE, batch.length) }, fillNext));
    this.deps.metrics.framesRecoveredFromLog('resubscribe', recovered);
    this.deps.logger.info({ sessions: batch.length, frames_recovered: recovered }, 'session subscriptions restored after a reconnect');
  }

  /** Relays the frames held for the session (if any) and stops holding. */
  private releaseHeld(subscription: SessionSubscription): void {
    const held = subscription.held ?? [];
    subscription.held = null;
    for (const payload of held) this.relay(subscription, payload);
  }

  /**
   * Sends a session's missed frames from its turns' logs, in the order the turns ran: the turn
   * relayed last (after its last seq, unless it had ended), the turns begun around or after the
   * hole opened that this gateway did not relay to their end (from their start: a short turn
   * may have begun and ended inside the hole), and every unanswered turn (from its start).
   * Every frame goes through `relay`, which drops what was already sent. Held frames already
   * covered are dropped from `held`. Returns the number of frames sent.
   */
  private async fillHole(subscription: SessionSubscription): Promise<number> {
    const { sessionId } = subscription;
    const since = subscription.missingSince ?? subscription.createdAt;
    const [recent, unanswered] = await Promise.all([
      this.deps.turnLog.recentTurns(sessionId, since - RECENT_TURN_LOOKBACK_MS),
      this.deps.store.unansweredTurns(sessionId),
    ]);
    const after = new Map<string, number>();
    if (subscription.lastMessageId && !subscription.lastEnded) after.set(subscription.lastMessageId.toString('latin1'), subscription.lastSeq);
    /** Turns owed only if they ended inside the hole, not before it (or before the socket came). */
    const owedIfEndedSince = new Set<string>();
    for (const messageId of recent) {
      if (after.has(messageId) || this.endedTurns.has(messageId)) continue;
      after.set(messageId, -1);
      owedIfEndedSince.add(messageId);
    }
    for (const messageId of unanswered) if (!after.has(messageId)) after.set(messageId, -1);
    const turns = [...after];
    const reads = await Promise.all(turns.map(([messageId, afterSeq]) => this.deps.turnLog.read(sessionId, messageId, afterSeq)));
    let sent = 0;
    const sentUpTo = new Map<string, number>();
    for (const [i, [messageId]] of turns.entries()) {
      const read = reads[i]!;
      if (owedIfEndedSince.has(messageId) && !unanswered.includes(messageId) && endedBefore(read, since - CLOCK_SKEW_ALLOWANCE_MS)) continue;
      // A turn replayed from its start may have been accepted inside the hole: its question too.
      if (turns[i]![1] < 0 && read.question) this.relay(subscription, read.question);
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

/** Whether the turn's log shows it ended (its ending frame published) before `timeMs`. */
function endedBefore(read: TurnLogRead, timeMs: number): boolean {
  if (!read.ended) return false;
  const last = read.frames.at(-1);
  const header = last ? readEnvelopeHeader(last.envelope) : null;
  return header !== null && endsTurn(header.kind) && header.publishedAtMs < timeMs;
}
