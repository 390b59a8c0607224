/**
 * Merges tokens that arrive within `windowMs` of the last flush into one chunk, so Redis and
 * the sockets carry far fewer messages than the model emits tokens at high load. The first
 * token of a quiet period is flushed at once, which keeps time-to-first-token untouched.
 */
export class ChunkCoalescer {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private lastFlushAt = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly flush: (text: string) => void,
  ) {}

  push(text: string): void {
    if (text.length === 0) return;
    if (this.windowMs <= 0) {
      this.flush(text);
      return;
    }
    this.pending += text;
    if (this.timer !== null) return;
    const wait = this.lastFlushAt + this.windowMs - performance.now();
    if (wait <= 0) this.flushPending();
    else this.timer = setTimeout(this.flushPending, wait);
  }

  /** Flushes what is pending; call once the stream has ended. */
  end(): void {
    this.flushPending();
  }

  /** Drops what is pending without flushing (the turn failed). */
  discard(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = '';
  }

  private readonly flushPending = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.lastFlushAt = performance.now();
    this.flush(text);
  };
}
