import { ServiceError, isValidId, type RedisKeys, type SessionStore, type TurnQueues, type RedisClient } from '@chat/shared';
import { respondJson, type HttpExchange } from '../http/respond.js';
import type { RestRequest } from '../http/rest-route.js';

export interface DeadLetterRoutesDeps {
  queues: TurnQueues;
  store: SessionStore;
  redis: RedisClient;
  keys: RedisKeys;
  sessionTtlSeconds: number;
  /** Replaying changes state: only with OPS_TOKEN set (and presented; the route guard checks). */
  replayAllowed: boolean;
}

/** One turn that failed for good, as an operator sees it. */
interface DeadLetter {
  message_id: string;
  session_id: string;
  failed_reason: string;
  attempts: number;
  accepted_at: string;
  failed_at: string | null;
  /** The queue shard that holds it (0 with one queue). */
  queue_shard: number;
}

const LIST_LIMIT = 100;

/**
 * `GET /ops/dead-letters`: turns that failed for good (BullMQ's failed set, kept 24 h), newest
 * first. Their clients already got an `error` frame; cancelled and timed-out turns are not here.
 */
export function listDeadLettersHandler(deps: DeadLetterRoutesDeps) {
  return async (exchange: HttpExchange): Promise<void> => {
    // The newest of each shard, merged newest first: the newest LIST_LIMIT over all shards.
    const perShard = await Promise.all(deps.queues.shards.map((queue) => queue.getFailed(0, LIST_LIMIT - 1)));
    const letters: DeadLetter[] = perShard
      .flatMap((jobs, shard) => jobs.filter((job) => job?.data).map((job) => ({ job, shard })))
      .sort((a, b) => (b.job.finishedOn ?? 0) - (a.job.finishedOn ?? 0))
      .slice(0, LIST_LIMIT)
      .map(({ job, shard }) => ({
        message_id: job.data.message_id,
        session_id: job.data.session_id,
        failed_reason: job.failedReason ?? '',
        attempts: job.attemptsMade,
        accepted_at: new Date(job.data.accepted_at).toISOString(),
        failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        queue_shard: shard,
      }));
    const counts = await Promise.all(deps.queues.shards.map((queue) => queue.getFailedCount()));
    respondJson(exchange, 200, { count: counts.reduce((a, b) => a + b, 0), dead_letters: letters }, { 'cache-control': 'no-store' });
  };
}

/**
 * `POST /ops/dead-letters/:messageId/replay`: runs a failed turn again. Its frame log is cleared
 * (the new run streams from seq 0 to whoever is connected), it goes back in its session's queue
 * of unanswered turns, and the job is retried with fresh attempts.
 */
export function replayDeadLetterHandler(deps: DeadLetterRoutesDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    if (!deps.replayAllowed) throw new ServiceError('forbidden', 'Replaying dead letters needs OPS_TOKEN to be set.');
    const messageId = request.params[0] ?? '';
    if (!isValidId(messageId)) throw new ServiceError('invalid_id');
    // The path names the message id only: look in every shard (one id may be in use in several).
    const jobs = await Promise.all(deps.queues.shards.map((queue) => queue.getJob(messageId)));
    const failed = await Promise.all(jobs.map((job) => (job ? job.isFailed() : false)));
    const job = jobs[failed.indexOf(true)];
    if (!job) throw new ServiceError('not_found', 'No dead letter with that message id.');
    const { session_id: sessionId } = job.data;
    const log = deps.keys.turnLog(sessionId, messageId);
    await deps.redis.del(log.state, log.log, log.text, deps.keys.turnCancel(sessionId, messageId));
    const accepted = await deps.store.scripts.acceptTurn(sessionId, messageId, deps.sessionTtlSeconds);
    if (accepted === 'session_not_found') throw new ServiceError('session_not_found', 'The session of that turn has expired; it cannot be replayed.');
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    respondJson(exchange, 202, { status: 'replaying', session_id: sessionId, message_id: messageId });
  };
}
