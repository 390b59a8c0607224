import type { ServerResponse } from 'node:http';
import type { ChatCompletionBody } from './chunk-encoder.js';
import { sendJson } from './http-responses.js';
import type { TimerWheel, WheelTask } from './timer-wheel.js';

/**
 * A non-streamed answer, sent when a streamed one would have finished (time to first token plus
 * the time to generate the rest), so callers that do not stream see realistic latency too. It
 * waits in the shared timer wheel rather than on a timer of its own.
 */
export class DelayedReply implements WheelTask {
  wheelTick = -1;
  wheelDueAt = 0;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly body: ChatCompletionBody,
    private readonly wheel: TimerWheel,
    /** Called exactly once: sent (false) or the client left first (true). */
    private readonly ended: (aborted: boolean) => void,
  ) {}

  start(delayMs: number): void {
    this.res.once('close', this.onClose);
    if (delayMs === 0) this.onDue();
    else this.wheel.schedule(this, performance.now() + delayMs);
  }

  onDue(): void {
    if (this.done) return;
    this.done = true;
    sendJson(this.res, 200, this.body);
    this.ended(false);
  }

  private readonly onClose = (): void => {
    if (this.done) return;
    this.done = true;
    this.wheel.cancel(this);
    this.ended(true);
  };
}
