import type { Logger, Redis } from '@chat/shared';

/** Why a turn was stopped from outside its own work: the reason its AbortController carries. */
export class TurnStopped extends Error {
  constructor(readonly code: 'cancelled' | 'timeout') {
    super(code === 'cancelled' ? 'the turn was cancelled' : 'the turn ran past its deadline');
    this.name = 'TurnStopped';
  }
}

/**
 * The turns this worker is running, by `<sessionId>/<messageId>`, and the control-channel
 * subscription that stops them: a cancel sent to any gateway reaches every worker here, and the
 * one running the turn aborts its LLM request, so the generation (and its cost) stops.
 */
export class TurnStops {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    await this.subscriber.subscribe(this.channel);
  }

  /**
   * Tracks a running turn: it is aborted with `TurnStopped('cancelled')` on a cancel, and with
   * `TurnStopped('timeout')` at `deadlineAt` (epoch ms). Returns the function that stops tracking.
   */
  track(sessionId: string, messageId: string, controller: AbortController, deadlineAt: number): () => void {
    const key = `${sessionId}/${messageId}`;
    this.running.set(key, controller);
    const timer = setTimeout(() => controller.abort(new TurnStopped('timeout')), Math.max(0, deadlineAt - Date.now()));
    return () => {
      clearTimeout(timer);
      if (this.running.get(key) === controller) this.running.delete(key);
    };
  }

  async close(): Promise<void> {
    // Turns still running finish (or lapse to another worker); only the listening stops.
    this.subscriber.off('message', this.onMessage);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    const controller = this.running.get(message);
    if (!controller || controller.signal.aborted) return;
    this.logger.info({ turn: message }, 'turn cancelled: aborting its generation');
    controller.abort(new TurnStopped('cancelled'));
  };
}
