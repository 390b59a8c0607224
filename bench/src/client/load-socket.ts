import WebSocket, { type RawData } from 'ws';
import type { ChatPlan, ChatResult } from './messages.js';
import { firstTokenSegments } from '../first-token-breakdown.js';

/** The fields of an outbound frame this client reads. */
interface Frame {
  type?: string;
  content?: string;
  message_id?: string;
  seq?: number;
  /** A merged chunk (slow reader) covers first_seq..seq. */
  first_seq?: number;
  timestamp?: string;
  code?: string;
  metadata?: {
    ttft_ms?: number;
    response_time_ms?: number;
    queue_wait_ms?: number;
    completion_tokens?: number;
    from_cache?: boolean;
    /** Step stamps of the turn's path (PIPELINE_TIMINGS), epoch ms. */
    timings?: Record<string, number>;
  };
}

/** One turn in flight on a socket. */
interface Turn {
  messageId: string;
  sentAt: number;
  /** The send as an epoch stamp with sub-ms precision, to compare with the stack's step stamps. */
  sentEpoch: number;
  /** The first chunk's arrival, the same way. */
  firstChunkPrecise: number;
  measured: boolean;
  firstChunkAt: number;
  /** Epoch ms the first chunk arrived, and the publish time it carried. */
  firstChunkEpoch: number;
  firstChunkStamp: string;
  nextSeq: number;
  /** The answer so far: chunks since the last reset (a retried attempt starts the text again). */
  text: string;
  chunks: number;
  resets: number;
  timer: NodeJS.Timeout;
}

/**
 * Clock shared by the sockets of one child: epoch ms for the window the parent set (all
 * processes on one machine share the wall clock), `performance.now()` for every interval.
 */
export class PlanClock {
  private readonly epochAtZero = Date.now() - performance.now();
  readonly measureFrom: number;
  readonly measureTo: number;

  constructor(plan: ChatPlan) {
    this.measureFrom = plan.measureFrom - this.epochAtZero;
    this.measureTo = plan.measureTo - this.epochAtZero;
  }

  inWindow(now: number): boolean {
    return now >= this.measureFrom && now < this.measureTo;
  }
}

/**
 * One benchmark socket: a plain `ws` client on one session. When it chats it sends a turn,
 * reads the frames of that turn (chunks in seq order, then `complete` or `error`), records the
 * figures, waits the think time and sends the next, until the plan's window closes.
 */
export class LoadSocket {
  private turn: Turn | null = null;
  private turnNo = 0;
  private plan: ChatPlan | null = null;
  private clock: PlanClock | null = null;
  private result: ChatResult | null = null;
  private lastSendAt = -Infinity;
  private loopDone: (() => void) | null = null;
  private nextTimer: NodeJS.Timeout | null = null;
  closedCode: number | null = null;
  /** The client-side error that closed the socket, if any (a protocol error the `ws` client found). */
  closeError: string | null = null;
  private readonly openedAt = performance.now();

  constructor(
    readonly ws: WebSocket,
    readonly sessionId: string,
    private readonly idPrefix: string,
  ) {
    ws.on('message', this.onMessage);
    // Logged with an abnormal close (BENCH_DEBUG), to find the connection in a packet capture.
    const localPort = (ws as unknown as { _socket?: { localPort?: number } })._socket?.localPort;
    ws.on('close', (code) => {
      this.closedCode = code;
      if (process.env.BENCH_DEBUG && code !== 1000) {
        process.stderr.write(`socket of session ${sessionId} (local port ${localPort}) closed ${code} ${(performance.now() - this.openedAt).toFixed(0)} ms after open${this.closeError ? `: ${this.closeError}` : ''}\n`);
      }
      if (this.turn) this.endTurn(false, 'socket_closed');
      this.finishLoop();
    });
    ws.on('error', (err) => {
      this.closeError ??= err.message;
    });
  }

  /** Chats per `plan` until its window closes and the last turn ended; records into `result`. */
  chat(plan: ChatPlan, clock: PlanClock, result: ChatResult): Promise<void> {
    this.plan = plan;
    this.clock = clock;
    this.result = result;
    return new Promise((resolve) => {
      this.loopDone = resolve;
      if (this.closedCode !== null) {
        this.finishLoop();
        return;
      }
      this.schedule(Math.random() * plan.staggerMs);
    });
  }

  close(): void {
    if (this.nextTimer) clearTimeout(this.nextTimer);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, 'bench done');
  }

  private schedule(delayMs: number): void {
    const plan = this.plan!;
    const wait = Math.max(delayMs, this.lastSendAt + plan.minIntervalMs - performance.now());
    this.nextTimer = setTimeout(this.send, Math.max(0, wait));
  }

  private readonly send = (): void => {
    this.nextTimer = null;
    const plan = this.plan!;
    const clock = this.clock!;
    const now = performance.now();
    if (now >= clock.measureTo || this.ws.readyState !== WebSocket.OPEN) {
      this.finishLoop();
      return;
    }
    const messageId = `${this.idPrefix}t${(this.turnNo++).toString(36)}`;
    const measured = clock.inWindow(now);
    this.turn = {
      messageId,
      sentAt: now,
      sentEpoch: performance.timeOrigin + now,
      firstChunkPrecise: 0,
      measured,
      firstChunkAt: 0,
      firstChunkEpoch: 0,
      firstChunkStamp: '',
      nextSeq: 0,
      text: '',
      chunks: 0,
      resets: 0,
      timer: setTimeout(() => this.endTurn(false, 'timeout'), plan.turnTimeoutMs),
    };
    this.lastSendAt = now;
    this.result!.totalTurns++;
    if (measured) this.result!.sent++;
    // Every question is unique (its message id appended), so the worker's response cache never
    // answers it: the benchmark measures the path through the model.
    this.ws.send(`{"message":${JSON.stringify(`${plan.message} (ref ${messageId})`)},"message_id":"${messageId}"}`);
  };

  private readonly onMessage = (data: RawData): void => {
    const now = performance.now();
    const turn = this.turn;
    let frame: Frame;
    try {
      frame = JSON.parse(data.toString()) as Frame;
    } catch {
      if (turn) this.endTurn(false, 'unparsable_frame');
      return;
    }
    const result = this.result;
    if (frame.type === 'chunk') {
      if (result && this.clock!.inWindow(now)) {
        result.chunkFramesInWindow++;
        result.charsInWindow += frame.content?.length ?? 0;
      }
      if (!turn || frame.message_id !== turn.messageId) return;
      // A slow reader's merged chunk covers first_seq..seq.
      if ((frame.first_seq ?? frame.seq) !== turn.nextSeq || frame.seq === undefined) {
        this.endTurn(false, 'mismatch');
        return;
      }
      if (turn.firstChunkAt === 0) {
        turn.firstChunkAt = now;
        turn.firstChunkEpoch = Date.now();
        turn.firstChunkPrecise = performance.timeOrigin + now;
        turn.firstChunkStamp = frame.timestamp ?? '';
      }
      turn.nextSeq = frame.seq + 1;
      turn.chunks++;
      turn.text += frame.content ?? '';
      return;
    }
    if (frame.type === 'reset') {
      // The turn was retried (its worker stalled or died): drop the partial text; seq runs on.
      if (!turn || frame.message_id !== turn.messageId) return;
      if (frame.seq !== turn.nextSeq) {
        this.endTurn(false, 'mismatch');
        return;
      }
      turn.nextSeq = frame.seq + 1;
      turn.text = '';
      turn.chunks = 0;
      turn.resets++;
      if (result && turn.measured) result.resets++;
      return;
    }
    if (frame.type === 'complete') {
      if (result && this.clock!.inWindow(now)) result.completedInWindow++;
      if (!turn || frame.message_id !== turn.messageId) return;
      if (frame.content !== turn.text || turn.chunks === 0) {
        this.endTurn(false, 'mismatch');
        return;
      }
      if (turn.measured && result) {
        const meta = frame.metadata ?? {};
        const firstChunk = turn.firstChunkAt - turn.sentAt;
        const total = now - turn.sentAt;
        const modelFirst = meta.ttft_ms ?? 0;
        const llmStream = (meta.response_time_ms ?? 0) - (meta.queue_wait_ms ?? 0);
        const samples = result.samples;
        samples.firstChunk.push(firstChunk);
        samples.turn.push(total);
        samples.modelFirst.push(modelFirst);
        samples.queueWait.push(meta.queue_wait_ms ?? 0);
        const stamp = Date.parse(turn.firstChunkStamp);
        if (Number.isFinite(stamp)) samples.relayFirst.push(turn.firstChunkEpoch - stamp);
        samples.addedFirst.push(firstChunk - modelFirst);
        samples.addedTotal.push(total - llmStream);
        for (const [segment, ms] of Object.entries(firstTokenSegments(turn.sentEpoch, turn.firstChunkPrecise, meta.timings))) {
          (result.steps[segment] ??= []).push(ms);
        }
        result.tokensOk += meta.completion_tokens ?? 0;
        if (meta.from_cache) result.fromCache++;
        result.charsOk += turn.text.length;
      }
      this.endTurn(true, null);
      return;
    }
    if (frame.type === 'error') {
      // An error about another message (a rate limit on a frame, say) still fails the turn in flight.
      if (turn) this.endTurn(false, frame.code ?? 'error');
    }
  };

  private endTurn(ok: boolean, failure: string | null): void {
    const turn = this.turn;
    if (!turn) return;
    this.turn = null;
    clearTimeout(turn.timer);
    const result = this.result!;
    if (turn.measured) {
      if (ok) result.ok++;
      else {
        result.failed++;
        result.failures[failure!] = (result.failures[failure!] ?? 0) + 1;
      }
    } else if (!ok) {
      result.unmeasuredFailures[failure!] = (result.unmeasuredFailures[failure!] ?? 0) + 1;
    }
    if (!ok && process.env.BENCH_DEBUG) process.stderr.write(`turn ${turn.messageId} on session ${this.sessionId} failed: ${failure}\n`);
    if (this.closedCode !== null) return;
    this.schedule(this.plan!.thinkMs);
  }

  private finishLoop(): void {
    if (this.turn) return; // the loop ends when the turn in flight does
    if (this.nextTimer) clearTimeout(this.nextTimer);
    this.nextTimer = null;
    const done = this.loopDone;
    this.loopDone = null;
    done?.();
  }
}
