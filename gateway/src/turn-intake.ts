import {
  FrameKind,
  NO_SEQ,
  ServiceError,
  SpanKind,
  Tracing,
  endWithError,
  encodeEnvelope,
  maskPii,
  newMessageId,
  preciseNow,
  stamp,
  userMessageFrame,
  type GatewayMetrics,
  type Logger,
  type SessionStore,
  type TurnJobData,
  type TurnQueues,
  type Span,
} from '@chat/shared';

export interface TurnRequest {
  sessionId: string;
  clientId: string | null;
  message: string;
  /** Client-chosen id for idempotent resends; default: a new UUID. */
  messageId?: string | undefined;
  via: 'ws' | 'rest';
}

export interface AcceptedTurn {
  messageId: string;
  /** True when this message id was already accepted (a resend): nothing new was queued. */
  duplicate: boolean;
  /**
   * A resend of a turn that has already ended (answered, failed or cancelled): its frames will
   * not come again on the channel; the resender gets them from the turn log.
   */
  ended: boolean;
}

/**
 * Control characters other than tab and newline, zero-width and bidi controls, variation
 * selectors and Unicode tag characters: invisible text that only ever carries mischief.
 */
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF\uFE00-\uFE0F]|\uDB40[\uDC00-\uDDEF]/g;

/** The message text as it will be answered: invisible characters removed, whitespace trimmed. */
export function normaliseMessage(message: string): string {
  return message.replace(INVISIBLE, '').trim();
}

/**
 * Whether a stored turn job's data (JSON) is this session's. The intake writes `session_id`
 * first, so a prefix check settles it without parsing; anything else is parsed.
 */
function isJobOfSession(storedData: string, sessionId: string): boolean {
  if (storedData.startsWith(`{"session_id":${JSON.stringify(sessionId)},`)) return true;
  try {
    return (JSON.parse(storedData) as { session_id?: unknown }).session_id === sessionId;
  } catch {
    return false;
  }
}

/**
 * Accepts chat turns from sockets and REST alike: checks the text, queues the message id in
 * its session's turn order (once per id) and enqueues the BullMQ job whose id is the message id.
 */
export class TurnIntake {
  constructor(
    private readonly store: SessionStore,
    private readonly queues: TurnQueues,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    /**
     * `tokenBudget`: LLM tokens one session may spend (SESSION_TOKEN_BUDGET); 0 or absent = none.
     * `pipelineTimings`: stamp the intake's steps into the job (PIPELINE_TIMINGS, the bench's breakdown).
     */
    private readonly limits: { maxMessageLength: number; sessionTtlSeconds: number; tokenBudget?: number; pipelineTimings?: boolean },
    /** Chat turns per session per window, counted in Redis across all gateways (by the accept script). */
    private readonly turnLimit: { points: number; windowSeconds: number },
    /**
     * Told of every turn about to be enqueued, to see that it ends (see TurnWatchdog), and of a
     * turn that then was not. Told before the enqueue: its custody record is sent no later than
     * the job, so a gateway that dies just after the job appears has recorded it for adoption.
     */
    private readonly watcher: { watch(data: TurnJobData): void; unwatch(messageId: string): void } = { watch: () => {}, unwatch: () => {} },
    /** Throws `service_unavailable` while Redis has been away a while (see RedisAvailability). */
    private readonly assertStoreReachable: () => void = () => {},
    /** Traces: a `chat.accept` span per turn, its traceparent carried in the job. Default: off. */
    private readonly tracing: Tracing = Tracing.off(),
  ) {}

  async accept(request: TurnRequest): Promise<AcceptedTurn> {
    if (!this.tracing.enabled) return this.acceptTurn(request, undefined);
    const span = this.tracing.startSpan('chat.accept', { kind: SpanKind.SERVER, attributes: { 'chat.via': request.via } });
    try {
      const accepted = await this.acceptTurn(request, span);
      span.setAttributes({ 'chat.message_id': accepted.messageId, 'chat.duplicate': accepted.duplicate });
      span.end();
      return accepted;
    } catch (err) {
      if (err instanceof ServiceError) span.setAttribute('chat.error_code', err.code);
      endWithError(span, err);
      throw err;
    }
  }

  private async acceptTurn(request: TurnRequest, span: Span | undefined): Promise<AcceptedTurn> {
    const receivedAt = this.limits.pipelineTimings ? preciseNow() : 0;
    this.assertStoreReachable();
    const message = normaliseMessage(request.message);
    if (message.length === 0) throw new ServiceError('empty_message');
    if (message.length > this.limits.maxMessageLength) {
      throw new ServiceError('message_too_long', `The message is longer than ${this.limits.maxMessageLength} characters.`);
    }
    const messageId = request.messageId ?? newMessageId();
    const data: TurnJobData = {
      // First: isJobOfSession reads it by prefix.
      session_id: request.sessionId,
      message_id: messageId,
      client_id: request.clientId,
      // Personal data never rests in Redis as written: the job, the turn log, the history and
      // the transcript all carry it masked (`•••• 1111`, see docs/privacy.md).
      message: maskPii(message),
      accepted_at: Date.now(),
    };
    const traceparent = span ? this.tracing.traceparentOf(span) : undefined;
    if (traceparent) data.traceparent = traceparent;
    let admitted;
    try {
      // Every socket of the session (other tabs, other devices) sees the message, ahead of its
      // answer: published by the same script that queues the turn. The text is the one the job
      // carries (`data.message`), so what is shown is what is stored.
      const json = JSON.stringify(userMessageFrame(request.sessionId, messageId, data.message, request.clientId));
      const userMessage = { json, envelope: encodeEnvelope(FrameKind.userMessage, json, Date.now(), NO_SEQ, messageId) };
      // One round trip for the whole intake: the session's token budget (SESSION_TOKEN_BUDGET;
      // the turn that crosses it still gets its whole answer), its turn rate limit, its place in
      // the session's order, and the message id recorded for erasure.
      admitted = await this.store.scripts.admitTurn(
        request.sessionId,
        messageId,
        this.limits.sessionTtlSeconds,
        { turnsPerWindow: this.turnLimit.points, windowSeconds: this.turnLimit.windowSeconds, tokenBudget: this.limits.tokenBudget ?? 0 },
        userMessage,
      );
    } catch (err) {
      this.logger.warn({ err: String(err), session_id: request.sessionId }, 'could not queue turn');
      throw new ServiceError('queue_unavailable');
    }
    if (admitted.outcome === 'rate_limited') {
      throw ServiceError.rateLimited(admitted.retryAfterMs, `At most ${this.turnLimit.points} messages per minute per session; try again shortly.`);
    }
    if (admitted.outcome === 'token_budget_exhausted') {
      const budget = this.limits.tokenBudget ?? 0;
      throw new ServiceError('token_budget_exhausted', `This session has used ${admitted.tokensUsed} of its ${budget} tokens (SESSION_TOKEN_BUDGET); start a new session.`);
    }
    const outcome = admitted.outcome;
    if (outcome === 'session_not_found') throw new ServiceError('session_not_found');
    if (outcome !== 'queued') return { messageId, duplicate: true, ended: outcome !== 'already_queued' };
    // The worker gathers the turn's context from it while its head check is in flight.
    if (admitted.sessionFlight) data.session_flight = admitted.sessionFlight;
    if (this.limits.pipelineTimings) {
      data.timings = {};
      stamp(data.timings, 'received', receivedAt);
      stamp(data.timings, 'accepted');
    }

    let storedData: string | null;
    this.watcher.watch(data);
    try {
      // The data of the job under this id, read alongside the add (same connection, no extra
      // round trip): BullMQ's add of an existing id keeps the existing job but returns the data
      // passed in. Read before the add, nothing (ours is new) or the job that was there; after,
      // the one kept. One field, not the whole job: this runs for every turn.
      const queue = this.queues.forSession(request.sessionId);
      const client = await queue.client;
      [, storedData] = await Promise.all([queue.add('turn', data, { jobId: messageId }), client.hget(queue.toKey(messageId), 'data')]);
    } catch (err) {
      this.watcher.unwatch(messageId);
      // Undo the place in the session's order, or the session would wait for a job that never comes.
      await this.store.scripts.finishTurn(request.sessionId, messageId).catch(() => {});
      this.logger.warn({ err: String(err), session_id: request.sessionId }, 'could not enqueue turn');
      throw new ServiceError('queue_unavailable');
    }
    if (storedData !== null && !isJobOfSession(storedData, request.sessionId)) {
      // Job ids are message ids, one namespace for all sessions: the id is another session's
      // job. This turn was not queued; the other is left alone.
      this.watcher.unwatch(messageId);
      await this.store.scripts.finishTurn(request.sessionId, messageId).catch(() => {});
      throw new ServiceError('validation_failed', 'This message_id is already in use; choose another (a UUID is safest).', [
        { field: 'message_id', message: 'is already in use' },
      ]);
    }
    this.metrics.turnAccepted(request.via);
    return { messageId, duplicate: false, ended: false };
  }
}
