import type { ServerResponse } from 'node:http';
import { SSE_DONE, type ChunkEncoder, type FinishReason, type Usage } from './chunk-encoder.js';
import type { TimerWheel, WheelTask } from './timer-wheel.js';

/**
 * Tokens written per event-loop turn when pacing is off (`tokensPerSecond: 0`). Big enough that
 * a stream costs few writes, small enough that thousands of streams interleave fairly.
 */
export const FAST_BATCH_TOKENS = 64;

export const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no', // a reverse proxy (nginx) must pass tokens on, not buffer them
});

/** What one stream sends and how fast. */
export interface StreamPlan {
  /** Content tokens, already JSON-encoded (quoted strings), in order. */
  tokenJson: readonly string[];
  finishReason: FinishReason;
  /** Sent in a last chunk when the request asked for `stream_options.include_usage`. */
  usage: Usage | undefined;
  ttftMs: number;
  /** 0 = as fast as the socket takes them. */
  tokensPerSecond: number;
}

/** How a stream reports to the server's counters. */
export interface StreamObserver {
  /** `count` content tokens were written (once per batch, not per token). */
  tokensWritten(count: number): void;
  /** The stream ended: completed, or aborted because the client went away. Called exactly once. */
  ended(aborted: boolean): void;
}

/**
 * One streamed answer on one response: the role chunk at once, content tokens paced by the shared
 * timer wheel (each turn writes every token that is due, in one write), then the finish chunk,
 * the usage chunk and `[DONE]`. When the client disconnects it stops at once.
 */
export class SseStream implements WheelTask {
  wheelTick = -1;
  wheelDueAt = 0;

  private emitted = 0;
  /** `performance.now()` time the first content token is due. */
  private firstTokenAt = 0;
  private done = false;
  private immediate: NodeJS.Immediate | undefined;
  private awaitingDrain = false;
  /** Milliseconds between two tokens. */
  private readonly interval: number;

  constructor(
    private readonly res: ServerResponse,
    private readonly encoder: ChunkEncoder,
    private readonly plan: StreamPlan,
    private readonly wheel: TimerWheel,
    private readonly observer: StreamObserver,
  ) {
    this.interval = plan.tokensPerSecond > 0 ? 1000 / plan.tokensPerSecond : 0;
  }

  start(): void {
    this.res.once('close', this.onClose);
    this.res.writeHead(200, SSE_HEADERS);
    // Headers and the role chunk go out now, as OpenAI's do: the client's `create()` resolves
    // and the time to first token is then the model's, not the HTTP round trip's.
    this.res.write(this.encoder.roleChunk());
    const now = performance.now();
    this.firstTokenAt = now + this.plan.ttftMs;
    if (this.plan.ttftMs === 0) this.onDue(now);
    else this.wheel.schedule(this, this.firstTokenAt);
  }

  /** Wheel callback: the next token is due. */
  onDue(now: number): void {
    if (this.done) return;
    if (this.interval === 0) {
      this.pump();
      return;
    }
    const total = this.plan.tokenJson.length;
    const due = Math.min(total, Math.floor((now - this.firstTokenAt) / this.interval) + 1);
    const writable = due > this.emitted ? this.emitUpTo(due) : true;
    if (this.emitted === total) this.finish();
    else if (!writable) this.waitForDrain();
    else this.wheel.schedule(this, this.firstTokenAt + this.emitted * this.interval);
  }

  /** Unpaced mode: one batch per event-loop turn, so other streams and sockets get their share. */
  private readonly pump = (): void => {
    this.immediate = undefined;
    if (this.done) return;
    const total = this.plan.tokenJson.length;
    const writable = this.emitUpTo(Math.min(total, this.emitted + FAST_BATCH_TOKENS));
    if (this.emitted === total) this.finish();
    else if (!writable) this.waitForDrain();
    else this.immediate = setImmediate(this.pump);
  };

  /** Writes tokens [emitted, end) as one write; returns the socket's backpressure verdict. */
  private emitUpTo(end: number): boolean {
    const { tokenJson } = this.plan;
    let out = '';
    for (let i = this.emitted; i < end; i++) out += this.encoder.contentChunk(tokenJson[i]!);
    const count = end - this.emitted;
    this.emitted = end;
    this.observer.tokensWritten(count);
    return this.res.write(out);
  }

  private finish(): void {
    let tail = this.encoder.finishChunk(this.plan.finishReason);
    if (this.plan.usage) tail += this.encoder.usageChunk(this.plan.usage);
    this.done = true;
    this.res.end(tail + SSE_DONE);
    this.observer.ended(false);
  }

  /**
   * A slow reader: stop until the socket drains instead of buffering the rest of the answer.
   * Paced streams then catch up with whatever fell due meanwhile, in one write.
   */
  private waitForDrain(): void {
    this.awaitingDrain = true;
    this.res.once('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    this.awaitingDrain = false;
    this.onDue(performance.now());
  };

  private readonly onClose = (): void => {
    if (this.done) return; // 'close' also follows a completed response
    this.done = true;
    this.wheel.cancel(this);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.awaitingDrain) this.res.off('drain', this.onDrain);
    this.observer.ended(true);
  };
}
