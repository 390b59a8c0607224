import {
  envelopeBody,
  envelopeMessageId,
  readEnvelopeHeader,
  errorFrame,
  snapshotFrame,
  type GatewayMetrics,
  type Logger,
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
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * Gives a socket exactly the frames of a turn it missed, then the live rest, with no gap and no
 * duplicate: the socket is kept off the session's topic while live frames are buffered (the
 * session's subscription is confirmed first), the turn's log is read after the client's seq and
 * sent, then the buffered frames newer than what was sent, and only then does the socket
 * rejoin the topic, all in one tick. If the log was cut short, a `snapshot` of the answer so far
 * replaces the frames that are gone; if the turn is unknown (its log expired), the client gets
 * `resume_unavailable` and the live stream.
 */
export class SocketResume {
  constructor(private readonly deps: SocketResumeDeps) {}

  /** The socket must have left (or never joined) the session's topic, and hold a relay retain. */
  async resume(ws: ChatSocket, point: ResumePoint): Promise<void> {
    const data = ws.getUserData();
    const sessionId = data.sessionId;
    const buffered: Buffer[] = [];
    // Kept across the log read: copied (ioredis may reuse the buffer behind an envelope).
    const untap = this.deps.relay.tap(sessionId, (envelope) => buffered.push(Buffer.from(envelope)));
    data.resuming = true;
    try {
      await this.deps.relay.ready(sessionId);
      const read = await this.deps.turnLog.read(sessionId, point.messageId, point.seq);
      this.deps.logger.debug({ session_id: sessionId, message_id: point.messageId, after: point.seq, frames: read.frames.length, buffered: buffered.length, closed: data.closed }, 'resume: log read');
      if (data.closed) return;
      ws.cork(() => {
        let sentUpTo = point.seq;
        let sent = 0;
        if (!read.known) {
          this.deps.metrics.resumed('unavailable');
          const frame = errorFrame('resume_unavailable', sessionId, { messageId: point.messageId });
          ws.send(JSON.stringify(frame), false);
        } else {
          let frames = read.frames;
          if (!read.gapless) {
            // The frames the client missed are partly trimmed away: the answer so far replaces them.
            const last = frames.at(-1);
            const endFrameLogged = read.ended && last !== undefined && last.seq === read.nextSeq - 1;
            const snapshotSeq = read.nextSeq - 1 - (endFrameLogged ? 1 : 0);
            ws.send(JSON.stringify(snapshotFrame(sessionId, point.messageId, read.text, snapshotSeq)), false);
            frames = frames.filter((f) => f.seq > snapshotSeq);
            sentUpTo = snapshotSeq;
            this.deps.metrics.resumed('snapshot');
          } else {
            this.deps.metrics.resumed('replayed');
          }
          for (const frame of frames) {
            ws.send(envelopeBody(frame.envelope), false);
            sentUpTo = frame.seq;
            sent++;
          }
        }
        for (const envelope of buffered) {
          const header = readEnvelopeHeader(envelope);
          if (!header) continue;
          if (header.seq <= sentUpTo && envelopeMessageId(envelope) === point.messageId) continue;
          ws.send(envelopeBody(envelope, header), false);
        }
        this.deps.metrics.framesRecoveredFromLog('resume', sent);
        ws.subscribe(sessionId);
      });
    } catch (err) {
      this.deps.logger.warn({ err: String(err), session_id: sessionId, message_id: point.messageId }, 'resume failed');
      if (data.closed) return;
      try {
        ws.cork(() => {
          ws.send(JSON.stringify(errorFrame('service_unavailable', sessionId, { messageId: point.messageId, content: 'The answer could not be resumed; try again.' })), false);
          // Live frames still flow; what was buffered goes out so nothing newer is lost.
          for (const envelope of buffered) ws.send(envelopeBody(envelope), false);
          ws.subscribe(sessionId);
        });
      } catch {
        // The replay itself overflowed the socket and uWS closed it: the client resumes again.
      }
    } finally {
      untap();
      data.resuming = false;
    }
  }
}
