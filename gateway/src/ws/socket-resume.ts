import { randomBytes } from 'node:crypto';
import {
  FrameKind,
  NO_SEQ,
  encodeEnvelope,
  envelopeBody,
  envelopeMessageId,
  errorFrame,
  readEnvelopeHeader,
  snapshotFrame,
  type EnvelopeHeader,
  type GatewayMetrics,
  type Logger,
  type RedisClient,
  type RedisKeys,
  type TurnLog,
} from '@chat/shared';
import type { SessionRelay } from '../session-relay.js';
import type { ChatSocket } from './socket-data.js';

/** Where a client wants its turn picked up: after the frame `seq` of `messageId` (-1: from the start). */
export interface ResumePoint {
  messageId: string;
  seq: number;
}

export interface SocketResumeDeps {
  relay: SessionRelay;
  turnLog: TurnLog;
  /** Command connection: publishes the catch-up marker. */
  redis: RedisClient;
  keys: RedisKeys;
  metrics: GatewayMetrics;
  logger: Logger;
}

/** If the catch-up marker never comes back (the subscriber connection dropped), rejoin anyway. */
const MARKER_TIMEOUT_MS = 5000;

/**
 * Gives a socket exactly the frames of a turn it missed, then the live rest, with no gap and no
 * duplicate. The socket stays off the session's topic while a tap on the session's subscription
 * sees every frame this gateway relays:
 *
 *   1. the subscription is confirmed, then the turn's log is read after the client's seq and
 *      sent (a `snapshot` first if the log was cut short; `resume_unavailable` if unknown);
 *   2. the log read travels on another connection than the channel, so frames it already held
 *      may still be on their way to this gateway's subscriber: the gateway publishes a marker on
 *      the session's channel, and until that marker comes back the tap forwards only frames
 *      newer than what the socket has;
 *   3. when the marker arrives, everything published before it has been seen: the socket
 *      rejoins the topic, in the same tick as the tap stops.
 */
export class SocketResume {
  /** Per socket, the resume in progress: a new one waits for it (resumes run one at a time). */
  private readonly inProgress = new WeakMap<ChatSocket, Promise<void>>();

  constructor(private readonly deps: SocketResumeDeps) {}

  /** Resumes `point` on a socket that holds a relay retain; resolves once it is back on the topic. */
  resume(ws: ChatSocket, point: ResumePoint): Promise<void> {
    const previous = this.inProgress.get(ws) ?? Promise.resolve();
    const next = previous.then(() => this.run(ws, point));
    this.inProgress.set(ws, next);
    return next;
  }

  private async run(ws: ChatSocket, point: ResumePoint): Promise<void> {
    const data = ws.getUserData();
    if (data.closed) return;
    // Off the topic until the missed frames are out (a no-op for a socket that never joined).
    ws.unsubscribe(data.sessionId);
    let rejoined: () => void = () => {};
    const back = new Promise<void>((resolve) => (rejoined = resolve));
    const sessionId = data.sessionId;
    const nonce = randomBytes(8).toString('hex');
    // What the socket has of the resumed turn; until the log is sent, frames wait in `early`
    // (copied: ioredis may reuse the buffer behind an envelope).
    let sentUpTo: number | null = null;
    const early: Buffer[] = [];
    let finished = false;
    let untap: () => void = () => {};
    let timer: NodeJS.Timeout | null = null;

    const rejoin = (): void => {
      if (finished) return;
      finished = true;
      untap();
      if (timer) clearTimeout(timer);
      data.resuming = false;
      data.liveSince ??= Date.now();
      if (!data.closed) ws.subscribe(sessionId);
      rejoined();
    };
    const forward = (envelope: Buffer, header: EnvelopeHeader): void => {
      if (header.seq !== NO_SEQ && sentUpTo !== null && header.seq <= sentUpTo && envelopeMessageId(envelope) === point.messageId) return;
      if (header.seq !== NO_SEQ && envelopeMessageId(envelope) === point.messageId) sentUpTo = header.seq;
      ws.send(envelopeBody(envelope, header), false);
    };
    untap = this.deps.relay.tap(sessionId, (envelope, header) => {
      if (finished || data.closed) return;
      if (header.kind === FrameKind.sync) {
        if (sentUpTo !== null && envelopeBody(envelope, header).includes(nonce)) rejoin();
        return;
      }
      if (sentUpTo === null) early.push(Buffer.from(envelope));
      else forward(envelope, header);
    });
    data.resuming = true;
    try {
      await this.deps.relay.ready(sessionId);
      const read = await this.deps.turnLog.read(sessionId, point.messageId, point.seq);
      if (data.closed) return;
      ws.cork(() => {
        let upTo = point.seq;
        let sent = 0;
        if (!read.known) {
          this.deps.metrics.resumed('unavailable');
          ws.send(JSON.stringify(errorFrame('resume_unavailable', sessionId, { messageId: point.messageId })), false);
        } else {
          // From its start: the question first, for a socket that has nothing of this turn (a
          // tab opened mid-answer). Not one of the answer's frames; clients that have it skip it.
          if (point.seq < 0 && read.question) ws.send(envelopeBody(read.question), false);
          let frames = read.frames;
          if (!read.gapless) {
            // The frames the client missed are partly trimmed away: the answer so far replaces them.
            const last = frames.at(-1);
            const endFrameLogged = read.ended && last !== undefined && last.seq === read.nextSeq - 1;
            const snapshotSeq = read.nextSeq - 1 - (endFrameLogged ? 1 : 0);
            ws.send(JSON.stringify(snapshotFrame(sessionId, point.messageId, read.text, snapshotSeq)), false);
            frames = frames.filter((f) => f.seq > snapshotSeq);
            upTo = snapshotSeq;
            this.deps.metrics.resumed('snapshot');
          } else {
            this.deps.metrics.resumed('replayed');
          }
          for (const frame of frames) {
            ws.send(envelopeBody(frame.envelope), false);
            upTo = frame.seq;
            sent++;
          }
        }
        sentUpTo = upTo;
        for (const envelope of early.splice(0)) {
          const header = readEnvelopeHeader(envelope);
          if (header && header.kind !== FrameKind.sync) forward(envelope, header);
        }
        this.deps.metrics.framesRecoveredFromLog('resume', sent);
      });
      // Everything published before this marker reaches the subscriber before it does.
      const marker = encodeEnvelope(FrameKind.sync, JSON.stringify({ type: 'sync', nonce }));
      timer = setTimeout(rejoin, MARKER_TIMEOUT_MS);
      await this.deps.redis.spublish(this.deps.keys.sessionChannel(sessionId), marker);
    } catch (err) {
      this.deps.logger.warn({ err: String(err), session_id: sessionId, message_id: point.messageId }, 'resume failed');
      if (data.closed || finished) {
        rejoin();
        return;
      }
      try {
        ws.cork(() => {
          ws.send(JSON.stringify(errorFrame('service_unavailable', sessionId, { messageId: point.messageId, content: 'The answer could not be resumed; try again.' })), false);
          // Live frames still flow; what waited goes out so nothing newer is lost.
          for (const envelope of early.splice(0)) ws.send(envelopeBody(envelope), false);
          rejoin();
        });
      } catch {
        // The replay itself overflowed the socket and uWS closed it: the client resumes again.
        rejoin();
      }
    } finally {
      if (data.closed) {
        finished = true;
        untap();
        if (timer) clearTimeout(timer);
        rejoined();
      }
    }
    await back;
  }
}
