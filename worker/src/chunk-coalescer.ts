import { callEach } from '@chat/shared';

/**
 * The one timer that flushes the held tokens of every stream of a worker, every `windowMs`.
 *
 * Each stream used to hold its tokens on a timer of its own, so at moderate load the worker
 * wrote one frame at a time, each in its own socket write to Redis, each waking Redis and then
 * the gateways: at 100 sessions those writes were a quarter of the worker's CPU (a system call
 * and a wake-up per token). On one tick every stream with tokens waiting flushes at once: their
 * frames leave as one script call in one write (see FrameBatcher), and Redis publishes them to
 * a gateway in one write too. A held token still waits at most `windowMs`.
 */
export class FlushClock {
  private due = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  /** `windowMs` ≤ 0: no holding at all, every token is its own chunk. */
  constructor(readonly windowMs: number) {}

  /** Runs `flush` at the next tick, with every other stream's. */
  schedule(flush: () => void): void {
    this.due.add(flush);
    this.timer ??= setTimeout(this.tick, this.windowMs);
  }

  /** Takes `flush` off the next tick (its stream flushed by itself, or was dropped). */
  cancel(flush: () => void): void {
    this.due.delete(flush);
  }

  private readonly tick = (): void => {
    this.timer = null;
    const due = this.due;
    this.due = new Set();
    // Every stream flushes whatever one flush throws: a stream left out would hold its tokens
    // until its answer ended.
    callEach(due, (flush) => flush());
  };
}

/**
 * Merges a stream's tokens into chunks, so Redis and the sockets carry far fewer messages than
 * the model emits tokens at high load. The answer's first chunk goes out at once, which keeps
 * time-to-first-token untouched; the tokens after it wait for the worker's next flush tick
 * (`FlushClock`), at most its window, and go together with every other stream's. `flush`
 * returns whether anything went out: a first chunk that came to nothing (the PII scrubber
 * removed all of it) leaves the next one first, also sent at once.
 */
export class ChunkCoalescer {
  private pending = '';
  private started = false;
  private scheduled = false;

  constructor(
    private readonly clock: FlushClock,
    private readonly flush: (text: string) => boolean,
  ) {}

  push(text: string): void {
    if (text.length === 0) return;
    if (this.clock.windowMs <= 0 || !this.started) {
      this.started = this.flush(text);
      return;
    }
    this.pending += text;
    if (this.scheduled) return;
    this.scheduled = true;
    this.clock.schedule(this.flushPending);
  }

  /** Flushes what is pending; call once the stream has ended. */
  end(): void {
    this.flushPending();
  }

  /** Drops what is pending without flushing (the turn failed). */
  discard(): void {
    this.unschedule();
    this.pending = '';
  }

  private unschedule(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    this.clock.cancel(this.flushPending);
  }

  private readonly flushPending = (): void => {
    this.unschedule();
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.flush(text);
  };
}
