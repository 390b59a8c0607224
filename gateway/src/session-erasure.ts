import {
  CloseCode,
  FrameKind,
  NO_SEQ,
  ServiceError,
  SessionEraser,
  encodeEnvelope,
  errorMessage,
  type Logger,
  type RedisClient,
  type RedisKeys,
  type TurnQueues,
} from '@chat/shared';
import type { TurnCanceller } from './turn-canceller.js';

/** The close code and reason sockets of an erased session get (see docs/privacy.md). */
export const SESSION_ERASED_CLOSE = { code: CloseCode.sessionErased, reason: 'session erased' } as const;

/** How long the erasure keeps trying to remove a job a worker still holds, ms. */
const JOB_REMOVAL_PATIENCE_MS = 60_000;
const JOB_REMOVAL_RETRY_MS = 500;

export interface SessionErasureDeps {
  redis: RedisClient;
  keys: RedisKeys;
  queues: TurnQueues;
  canceller: TurnCanceller;
  /** Stops this gateway watching the session's turns (see TurnWatchdog.forgetSession). */
  forgetTurns: (sessionId: string) => Promise<number>;
  logger: Logger;
}

/**
 * `DELETE /chat/session/:id`: erases a session everywhere it rests.
 *
 *   1. its unanswered turns are cancelled (the worker running one stops; queued ones end);
 *   2. every key of the session goes (SessionEraser: one slot, the known key set);
 *   3. its BullMQ jobs go (any state: finished, failed, waiting), once no worker holds them;
 *   4. its socket tickets go (their own slots, one DEL each);
 *   5. every gateway ends the session's sockets: an `error` frame `session_erased`, then close
 *      4410, through the session channel (a frame outside any turn).
 *
 * A job a worker still holds is removed as soon as the worker lets go (within a minute), and
 * a last pass then deletes anything the stopping turn wrote meanwhile.
 */
export class SessionErasure {
  private readonly eraser: SessionEraser;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: SessionErasureDeps) {
    this.eraser = new SessionEraser(deps.redis, deps.keys);
  }

  /** Erases the session; throws `session_not_found` when it does not exist. */
  async erase(sessionId: string): Promise<void> {
    const { redis, keys, canceller, logger } = this.deps;
    if ((await redis.exists(keys.session(sessionId, 'session'))) === 0) throw new ServiceError('session_not_found');
    // Last first: ending the head of the queue would wake the turn behind it.
    const unanswered = await redis.lrange(keys.session(sessionId, 'turns'), 0, -1);
    for (const messageId of unanswered.reverse()) await canceller.cancel(sessionId, messageId);
    await this.deps.forgetTurns(sessionId);
    const erased = await this.eraser.erase(sessionId);
    await this.deleteTickets(erased.tickets);
    const held = await this.removeJobs(sessionId, erased.messageIds);
    const frame = JSON.stringify({ type: 'error', code: 'session_erased', message: errorMessage('session_erased'), session_id: sessionId, message_id: null });
    await redis.spublish(keys.sessionChannel(sessionId), encodeEnvelope(FrameKind.error, frame, Date.now(), NO_SEQ, ''));
    logger.info({ session_id: sessionId, keys: erased.deletedKeys, turns: erased.messageIds.length, jobs_still_held: held.length }, 'session erased');
    if (held.length > 0) this.track(this.finishLater(sessionId, held));
    else await this.eraser.erase(sessionId);
  }

  /** Waits for the background removals (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private async deleteTickets(tickets: string[]): Promise<void> {
    if (tickets.length === 0) return;
    // Each ticket hash-tags on itself: one single-key DEL each, in one pipeline.
    const pipeline = this.deps.redis.pipeline();
    for (const ticket of tickets) pipeline.del(this.deps.keys.socketTicket(ticket));
    await pipeline.exec();
  }

  /** Removes the session's jobs; returns the ids of those a worker still holds. */
  private async removeJobs(sessionId: string, messageIds: string[]): Promise<string[]> {
    const held: string[] = [];
    for (const messageId of messageIds) {
      if ((await this.removeJob(sessionId, messageId)) === 'held') held.push(messageId);
    }
    return held;
  }

  private async removeJob(sessionId: string, messageId: string): Promise<'gone' | 'held'> {
    const queue = this.deps.queues.forSession(sessionId);
    const job = await queue.getJob(messageId);
    // Job ids are message ids, which clients choose: only a job of this session may be touched.
    if (!job || job.data.session_id !== sessionId) return 'gone';
    // 0: the job is locked by a worker (active); it is removed once the worker lets go.
    return (await queue.remove(messageId)) === 1 ? 'gone' : 'held';
  }

  private async finishLater(sessionId: string, held: string[]): Promise<void> {
    const deadline = Date.now() + JOB_REMOVAL_PATIENCE_MS;
    let left = held;
    try {
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, JOB_REMOVAL_RETRY_MS));
        const still: string[] = [];
        for (const messageId of left) if ((await this.removeJob(sessionId, messageId)) === 'held') still.push(messageId);
        left = still;
      }
      await this.eraser.erase(sessionId);
      if (left.length > 0) this.deps.logger.warn({ session_id: sessionId, jobs: left.length }, 'erased session: a job a worker still holds stays until BullMQ trims it');
    } catch (err) {
      this.deps.logger.warn({ session_id: sessionId, err: String(err) }, 'erased session: the last pass failed');
    }
  }
}
