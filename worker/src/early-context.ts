import { isFollowUp, type SessionFlight } from '@chat/shared';
import { forwardAbort } from './abort-link.js';
import type { AssembledContext, ContextAssembler, ContextRequest } from './context/index.js';

/** A context gathered, and how long gathering it took (ms). */
export interface GatheredContext {
  context: AssembledContext;
  ms: number;
}

/**
 * The turn's context, gathered while the worker's head check (`begin-turn`) is in flight rather
 * than after it: the check is a Redis round trip, and the context needs from the session only its
 * flight and date, which the job carries (`session_flight`, read by the gateway's accept step;
 * a session's record never changes). With the embedded sources the gathering is CPU work; with
 * HTTP sources (RETRIEVAL_URL, AGENT_URL) it is their round trips. Either way it now overlaps the
 * check instead of following it.
 *
 * A follow-up ("and tomorrow?") is not gathered early: it is read with the session's previous
 * question, which only the check returns. For the rest the check still decides: `usableFor`
 * hands the context over only when the session it returned has the same flight and date;
 * otherwise the caller gathers the context again, as before. A gathering nobody will use (the
 * flight did not match, or the run ended without answering: parked behind another turn, already
 * ended, cancelled) is stopped with `cancel`, so its source calls neither run on nor count
 * against a source's breaker (an abort by the caller does not).
 */
export class EarlyContext {
  private constructor(
    private readonly session: SessionFlight,
    private readonly gathered: Promise<GatheredContext | null>,
    private readonly stop: () => void,
  ) {}

  /**
   * Starts gathering; null for a follow-up (see above). Call it right after the head check was
   * sent: the work starts at the next `setImmediate`, after the connection's corked writes of this
   * loop turn (WriteCoalescer) have left, so the check's command is on the wire while this runs
   * rather than held behind it. `turnSignal` stops it too.
   */
  static start(assembler: ContextAssembler, message: string, session: SessionFlight, turnSignal: AbortSignal): EarlyContext | null {
    if (isFollowUp(message)) return null;
    const request: ContextRequest = { message, session: { flight_no: session.flight_no, date: session.date } };
    // Its own controller, the turn's stop forwarded to it (and the forwarding dropped once it settles).
    const controller = new AbortController();
    const unlink = forwardAbort(turnSignal, controller);
    let settled = false;
    const gathered = new Promise<GatheredContext | null>((resolve) => {
      setImmediate(() => {
        if (controller.signal.aborted) return resolve(null);
        const startedAt = Date.now();
        // A failure here only loses the head start: the caller gathers the context itself.
        assembler.assemble(request, controller.signal).then(
          (context) => resolve(controller.signal.aborted ? null : { context, ms: Date.now() - startedAt }),
          () => resolve(null),
        );
      });
    }).finally(() => {
      settled = true;
      unlink();
    });
    return new EarlyContext(request.session, gathered, () => {
      if (!settled) controller.abort(new Error('early context not used'));
    });
  }

  /**
   * The context, if it was gathered for the session the head check returned (same flight and
   * date); null when it was not (the gathering is stopped; the caller gathers it), or when
   * gathering failed.
   */
  async usableFor(session: SessionFlight): Promise<GatheredContext | null> {
    if (this.session.flight_no !== session.flight_no || this.session.date !== session.date) {
      this.cancel();
      return null;
    }
    return this.gathered;
  }

  /** Stops a gathering whose result nobody will use; nothing once it has finished. */
  cancel(): void {
    this.stop();
  }
}
