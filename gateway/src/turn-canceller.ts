import { ServiceError, isValidId, type Logger, type RedisClient, type RedisKeys } from '@chat/shared';

/**
 * Asks for a turn to stop, from any gateway, whichever worker runs it: marks the turn cancelled
 * (a worker that has not started it skips it) and tells every worker on the control channel (the
 * one running it aborts its LLM request, so the cost stops). A turn still waiting in the queue
 * is ended at once by `endQueued` (see TurnWatchdog.cancelQueued). Idempotent.
 */
export class TurnCanceller {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    private readonly endQueued: (sessionId: string, messageId: string) => Promise<boolean> = async () => false,
    /** The session whose job has this id (job ids are message ids), or null when there is none. */
    private readonly jobSessionOf: (messageId: string) => Promise<string | null> = async () => null,
  ) {}

  /**
   * Cancels a turn of this session. Refuses, changing nothing, what it cannot cancel: an unknown
   * session (`session_not_found`), a message id that is another session's (`forbidden`), or one
   * this session never sent (`not_found`). A turn of the session that already ended is taken
   * (idempotent): its clients saw or will see its one ending.
   */
  async cancel(sessionId: string, messageId: string): Promise<void> {
    if (!isValidId(sessionId) || !isValidId(messageId)) throw new ServiceError('invalid_id');
    await this.assertTurnOf(sessionId, messageId);
    try {
      await this.redis
        .multi()
        .set(this.keys.turnCancel(sessionId, messageId), '1', 'EX', 3600)
        .publish(this.keys.cancelChannel, `${sessionId}/${messageId}`)
        .exec();
    } catch (err) {
      this.logger.warn({ err: String(err), session_id: sessionId, message_id: messageId }, 'cancel request failed');
      throw new ServiceError('service_unavailable', 'The cancel could not be delivered; retry shortly.');
    }
    // The marker is set first: a worker taking the job meanwhile skips it, so removing the job
    // here cannot race a generation into existence.
    await this.endQueued(sessionId, messageId).catch((err: unknown) => {
      this.logger.warn({ err: String(err), session_id: sessionId, message_id: messageId }, 'queued turn could not be ended at once; a worker will end it');
    });
  }

  /**
   * Whether the message is a turn of the session: queued and unanswered, begun (its turn log),
   * or answered (its done marker); one round trip in the session's hash slot. Otherwise the job
   * of that id, if any, tells another session's message from an unknown one.
   */
  private async assertTurnOf(sessionId: string, messageId: string): Promise<void> {
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.redis
        .multi()
        .exists(this.keys.session(sessionId, 'session'))
        .lpos(this.keys.session(sessionId, 'turns'), messageId)
        .exists(this.keys.turnLog(sessionId, messageId).state, this.keys.turnDone(sessionId, messageId))
        .exec();
    } catch (err) {
      this.logger.warn({ err: String(err), session_id: sessionId, message_id: messageId }, 'cancel lookup failed');
      throw new ServiceError('service_unavailable', 'The cancel could not be delivered; retry shortly.');
    }
    if (!replies) throw new ServiceError('service_unavailable', 'The cancel could not be delivered; retry shortly.');
    for (const [err] of replies) if (err) throw new ServiceError('service_unavailable', 'The cancel could not be delivered; retry shortly.');
    const [sessionExists, queuedAt, turnKeys] = replies.map(([, value]) => value);
    if (Number(sessionExists) === 0) throw new ServiceError('session_not_found');
    if (queuedAt !== null || Number(turnKeys) > 0) return;
    const owner = await this.jobSessionOf(messageId).catch(() => null);
    // Its job is this session's: accepted just now, or ended and its keys expired. Taken.
    if (owner === sessionId) return;
    if (owner !== null) throw new ServiceError('forbidden', 'That message belongs to another session; nothing was cancelled.');
    throw new ServiceError('not_found', 'This session has no message with that id; nothing was cancelled.');
  }
}
