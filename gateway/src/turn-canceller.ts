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
  ) {}

  async cancel(sessionId: string, messageId: string): Promise<void> {
    if (!isValidId(sessionId) || !isValidId(messageId)) throw new ServiceError('invalid_id');
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
}
