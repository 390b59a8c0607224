import { SpanKind, endWithError, type Span, type Tracing, type TurnJobData } from '@chat/shared';

/**
 * One turn's spans in the worker, in the trace the gateway started (the job's `traceparent`):
 *
 *   chat.accept (gateway) ─┬─ chat.queue_wait   accepted_at → the worker starts it
 *                          └─ chat.turn ─┬─ chat.context    policy search, flight lookup
 *                                        ├─ chat.model      LLM request (first token, tokens)
 *                                        └─ chat.publish    the `complete` frame
 *   chat.relay (gateway, child of chat.turn through complete.metadata.traceparent)
 *
 * Attributes are ids, counts, timings and model names only: never message text or personal data.
 * With tracing off `TurnTrace.start` returns null and call sites run their steps directly.
 */
export class TurnTrace {
  private constructor(
    private readonly tracing: Tracing,
    private readonly turn: Span,
  ) {}

  static start(tracing: Tracing | undefined, data: TurnJobData, startedAt: number, attempt: number): TurnTrace | null {
    if (!tracing?.enabled) return null;
    const attributes = { 'chat.message_id': data.message_id, 'chat.attempt': attempt };
    tracing.startSpan('chat.queue_wait', { parent: data.traceparent, startTime: data.accepted_at, attributes }).end(startedAt);
    const turn = tracing.startSpan('chat.turn', { parent: data.traceparent, kind: SpanKind.CONSUMER, startTime: startedAt, attributes });
    return new TurnTrace(tracing, turn);
  }

  /** The turn span's traceparent, for the `complete` frame. */
  get traceparent(): string | undefined {
    return this.tracing.traceparentOf(this.turn);
  }

  /** Runs one step of the turn inside a child span; `describe` adds attributes from its result. */
  async phase<T>(name: string, run: () => Promise<T>, describe?: (result: T) => Record<string, string | number | boolean>): Promise<T> {
    const span = this.tracing.startSpan(name, { parent: this.tracing.contextOf(this.turn) });
    try {
      const result = await run();
      if (describe) span.setAttributes(describe(result));
      span.end();
      return result;
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
  }

  end(outcome: string): void {
    this.turn.setAttribute('chat.outcome', outcome);
    this.turn.end();
  }
}

/** Runs `run` in a phase span when the turn is traced, else directly. */
export function inPhase<T>(trace: TurnTrace | null, name: string, run: () => Promise<T>, describe?: (result: T) => Record<string, string | number | boolean>): Promise<T> {
  return trace ? trace.phase(name, run, describe) : run();
}
