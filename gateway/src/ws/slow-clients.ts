import { FrameKind, isoNow, type GatewayMetrics } from '@chat/shared';
import type { ChatSocket } from './socket-data.js';

/** A run of chunks held for a slow socket, sent as one chunk frame once it has room. */
interface PendingMerge {
  sessionId: string;
  messageId: string;
  firstSeq: number;
  lastSeq: number;
  parts: string[];
}

interface ParsedChunk {
  content: string;
  message_id: string;
  seq: number;
}

export interface SlowClientOptions {
  /** Buffered bytes past which a socket is served merged chunks. */
  softLimitBytes: number;
  /** How often sockets are looked at, ms. */
  sweepEveryMs: number;
}

/**
 * Serves sockets that read slower than the stream. A socket whose send buffer passes the soft
 * limit leaves the session's topic; its chunks are merged while its buffer stays high and sent
 * as one larger frame (`seq` = the last chunk merged, `first_seq` = the first) when it has room;
 * any other frame (reset, complete, error) goes out right after the merged text. Once its buffer
 * is nearly empty it rejoins the topic. Past the hard limit (WS_MAX_BACKPRESSURE_BYTES) uWS
 * closes it, and the client can resume. Fast sockets never pay for this: the relay looks here
 * only for sessions that have a slow socket.
 */
export class SlowClients {
  private readonly slow = new Map<ChatSocket, PendingMerge | null>();
  private readonly slowBySession = new Map<string, Set<ChatSocket>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sockets: () => Iterable<ChatSocket>,
    private readonly metrics: GatewayMetrics,
    private readonly options: SlowClientOptions,
  ) {}

  start(): void {
    this.timer = setInterval(this.sweep, this.options.sweepEveryMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Whether the session has a socket served here (one map lookup, per relayed frame). */
  hasSlow(sessionId: string): boolean {
    return this.slowBySession.has(sessionId);
  }

  /** A frame of the session, for its slow sockets (the topic already served the others). */
  deliver(sessionId: string, kind: FrameKind, frame: Buffer): void {
    const sockets = this.slowBySession.get(sessionId);
    if (!sockets) return;
    let chunk: ParsedChunk | null = null;
    if (kind === FrameKind.chunk) chunk = JSON.parse(frame.toString('utf8')) as ParsedChunk;
    for (const ws of sockets) {
      // A send may close a socket at the hard limit (and uWS may tell us only later): one
      // socket's end must never cost the others their frame.
      try {
        if (chunk) {
          this.hold(ws, sessionId, chunk);
          if (ws.getBufferedAmount() < this.options.softLimitBytes) this.flush(ws);
        } else {
          this.flush(ws);
          ws.send(frame, false);
        }
      } catch {
        this.drop(ws, sessionId);
      }
    }
  }

  /** Forgets a socket that can no longer be used, without touching it. */
  private drop(ws: ChatSocket, sessionId: string): void {
    this.slow.delete(ws);
    const sockets = this.slowBySession.get(sessionId);
    sockets?.delete(ws);
    if (sockets?.size === 0) this.slowBySession.delete(sessionId);
  }

  /** uWS `drain`: the socket's buffer went down. */
  onDrain(ws: ChatSocket): void {
    if (!this.slow.has(ws)) return;
    if (ws.getBufferedAmount() < this.options.softLimitBytes) this.flush(ws);
    if (ws.getBufferedAmount() < this.options.softLimitBytes / 4) this.restore(ws);
  }

  /**
   * The socket closed (uWS forbids any call on it from now on), or it is about to resume (the
   * resume replays from the client's own seq, so held text is not needed): forget it.
   */
  forget(ws: ChatSocket): void {
    if (!this.slow.has(ws)) return;
    this.drop(ws, ws.getUserData().sessionId);
  }

  private readonly sweep = (): void => {
    for (const ws of this.sockets()) {
      const data = ws.getUserData();
      if (data.closed || data.resuming) continue;
      try {
        const buffered = ws.getBufferedAmount();
        if (this.slow.has(ws)) {
          if (buffered < this.options.softLimitBytes) this.flush(ws);
          if (buffered < this.options.softLimitBytes / 4) this.restore(ws);
        } else if (buffered > this.options.softLimitBytes) {
          this.demote(ws);
        }
      } catch {
        this.drop(ws, data.sessionId);
      }
    }
  };

  /** Off the topic: from now on its frames come through `deliver`. */
  private demote(ws: ChatSocket): void {
    const sessionId = ws.getUserData().sessionId;
    ws.unsubscribe(sessionId);
    this.slow.set(ws, null);
    let sockets = this.slowBySession.get(sessionId);
    if (!sockets) {
      sockets = new Set();
      this.slowBySession.set(sessionId, sockets);
    }
    sockets.add(ws);
  }

  /** Caught up: what is held goes out, and it rejoins the topic, in the same tick. */
  private restore(ws: ChatSocket): void {
    this.flush(ws);
    this.forget(ws);
    ws.subscribe(ws.getUserData().sessionId);
  }

  private hold(ws: ChatSocket, sessionId: string, chunk: ParsedChunk): void {
    let pending = this.slow.get(ws) ?? null;
    if (pending && pending.messageId !== chunk.message_id) {
      this.flush(ws);
      pending = null;
    }
    if (!pending) {
      this.slow.set(ws, { sessionId, messageId: chunk.message_id, firstSeq: chunk.seq, lastSeq: chunk.seq, parts: [chunk.content] });
      return;
    }
    pending.parts.push(chunk.content);
    pending.lastSeq = chunk.seq;
  }

  private flush(ws: ChatSocket): void {
    const pending = this.slow.get(ws);
    if (!pending) return;
    this.slow.set(ws, null);
    if (pending.parts.length > 1) this.metrics.slowClientMerged(pending.parts.length);
    const frame = {
      type: 'chunk',
      content: pending.parts.join(''),
      session_id: pending.sessionId,
      message_id: pending.messageId,
      seq: pending.lastSeq,
      ...(pending.lastSeq !== pending.firstSeq ? { first_seq: pending.firstSeq } : {}),
      timestamp: isoNow(),
    };
    ws.send(JSON.stringify(frame), false);
  }
}
