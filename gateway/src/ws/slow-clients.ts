import { CloseCode, FrameKind, isoNow, type GatewayMetrics } from '@chat/shared';
import type { ChatSocket } from './socket-data.js';

/** A run of chunks held for a slow socket, sent as one chunk frame once it has room. */
interface PendingMerge {
  sessionId: string;
  messageId: string;
  firstSeq: number;
  lastSeq: number;
  parts: string[];
  /** UTF-16 length of `parts`, a bound on what they will add to the send buffer (×3 bytes at most). */
  heldLength: number;
}

interface ParsedChunk {
  content: string;
  message_id: string;
  seq: number;
}

export interface SlowClientOptions {
  /** Buffered bytes past which a socket is served merged chunks. */
  softLimitBytes: number;
  /** How soon after a frame its session's sockets are looked at, ms (and how often while some are slow). */
  sweepEveryMs: number;
  /**
   * The hard bound (WS_MAX_BACKPRESSURE_BYTES): buffered plus held past this, the socket is
   * closed with 4408 (the held text would otherwise grow with every chunk of a reader that
   * stopped reading, up to a whole answer per socket).
   */
  hardLimitBytes: number;
}

/** Why a socket that stopped reading is closed; the client resumes from the last seq it read. */
export const SLOW_CONSUMER_CLOSE_REASON = 'too slow to keep up: reconnect and resume';

/**
 * Serves sockets that read slower than the stream. A socket whose send buffer passes the soft
 * limit leaves the session's topic; its chunks are merged while its buffer stays high and sent
 * as one larger frame (`seq` = the last chunk merged, `first_seq` = the first) when it has room;
 * any other frame (reset, complete, error) goes out right after the merged text. Once its buffer
 * is nearly empty it rejoins the topic. Past the hard limit (WS_MAX_BACKPRESSURE_BYTES) uWS
 * or, counting what is held for it, here with 4408 (slowConsumer), closes it, and the client can
 * resume. Fast sockets pay one Set insert per frame for this (`relayed`); the frames of a session
 * with no slow socket go by the topic alone.
 *
 * A send buffer only grows when something is sent, so the sweep looks only at the sockets of the
 * sessions the relay handed a frame since the last sweep (`relayed`), and at those already slow;
 * it runs only while there is something to look at. It once walked every socket every 200 ms: with
 * tens of thousands of idle sockets that was the gateway's largest idle cost, and with none it
 * still woke the process five times a second (docs/performance.md, round 11).
 */
export class SlowClients {
  private readonly slow = new Map<ChatSocket, PendingMerge | null>();
  private readonly slowBySession = new Map<string, Set<ChatSocket>>();
  /** Sessions handed a frame since the last sweep: the only sockets whose buffers can have grown. */
  private relayedSince = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    /** The open sockets of one session on this gateway. */
    private readonly socketsOf: (sessionId: string) => Iterable<ChatSocket>,
    private readonly metrics: GatewayMetrics,
    private readonly options: SlowClientOptions,
  ) {}

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * The relay published a frame to the session's topic: its sockets are looked at in the next
   * sweep, and its slow sockets (off the topic) get the frame here. One Set insert per frame.
   */
  relayed(sessionId: string, kind: FrameKind, frame: Buffer): void {
    this.relayedSince.add(sessionId);
    if (this.timer === null && !this.closed) this.schedule();
    if (this.slowBySession.has(sessionId)) this.deliver(sessionId, kind, frame);
  }

  /** Whether the session has a socket served here, off the topic. */
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
          const held = this.hold(ws, sessionId, chunk);
          const buffered = ws.getBufferedAmount();
          if (buffered < this.options.softLimitBytes) this.flush(ws);
          else if (buffered + held > this.options.hardLimitBytes) this.cutOff(ws, sessionId);
        } else {
          this.flush(ws);
          ws.send(frame, false);
        }
      } catch {
        this.drop(ws, sessionId);
      }
    }
  }

  /** Closes a socket that fell too far behind; the close handler forgets it. */
  private cutOff(ws: ChatSocket, sessionId: string): void {
    this.drop(ws, sessionId);
    this.metrics.slowClientCutOff();
    ws.end(CloseCode.slowConsumer, SLOW_CONSUMER_CLOSE_REASON);
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

  private schedule(): void {
    this.timer = setTimeout(this.sweep, this.options.sweepEveryMs);
    this.timer.unref();
  }

  private readonly sweep = (): void => {
    this.timer = null;
    const sessions = this.relayedSince;
    this.relayedSince = new Set();
    for (const sessionId of this.slowBySession.keys()) sessions.add(sessionId);
    for (const sessionId of sessions) {
      for (const ws of this.socketsOf(sessionId)) this.look(ws);
    }
    // Slow sockets wait for room (uWS's drain tells too); otherwise the next frame schedules it.
    if (!this.closed && (this.slow.size > 0 || this.relayedSince.size > 0)) this.schedule();
  };

  /** One socket's buffer against the limits: off the topic past the soft one, back once nearly empty. */
  private look(ws: ChatSocket): void {
    const data = ws.getUserData();
    if (data.closed || data.resuming) return;
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

  /** Adds the chunk to what is held for the socket; returns the length now held. */
  private hold(ws: ChatSocket, sessionId: string, chunk: ParsedChunk): number {
    let pending = this.slow.get(ws) ?? null;
    if (pending && pending.messageId !== chunk.message_id) {
      this.flush(ws);
      pending = null;
    }
    if (!pending) {
      const length = chunk.content.length;
      this.slow.set(ws, { sessionId, messageId: chunk.message_id, firstSeq: chunk.seq, lastSeq: chunk.seq, parts: [chunk.content], heldLength: length });
      return length;
    }
    pending.parts.push(chunk.content);
    pending.lastSeq = chunk.seq;
    pending.heldLength += chunk.content.length;
    return pending.heldLength;
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
