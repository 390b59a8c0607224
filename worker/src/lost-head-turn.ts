import type { Job } from 'bullmq';
import { turnWatchdogPeriodMs, type Config, type ErrorCode, type Logger, type SessionStore, type TurnJobData, type TurnLog, type TurnQueues, type WorkerMetrics } from '@chat/shared';
import { TurnLostError, TurnPublisher } from './turn-publisher.js';

/**
 * How long a later turn waits for its session's head turn whose job is gone before ending that
 * turn: two periods of the gateway's watchdog, which enqueues a vanished job again while its
 * turn is on the session's list, plus
 * one custody lease, within which another gateway adopts the turns of one that died.
 */
export function lostTurnGraceMs(config: Readonly<Config>): number {
  return 2 * turnWatchdogPeriodMs(config) + config.gateway.custodyLeaseMs;
}

/**
 * Kept in the waiting job's BullMQ progress: which head it found lost, and since when. In the
 * job rather than in this process, so the wait is bounded whichever worker re-checks the job.
 */
interface LostHeadMark {
  lost_head: string;
  since: number;
}

export interface LostHeadDeps {
  store: SessionStore;
  queues: TurnQueues;
  turnLog: TurnLog;
  metrics: WorkerMetrics;
  logger: Logger;
}

/**
 * What a turn does about its session's head turn when the head's job is gone from the queue.
 *
 * Gone does not mean finished: a failover can lose a job (while a later turn's job survives),
 * and the gateway accepts a turn onto the session's list a moment before it enqueues its job.
 * Dropping such a head from the list would leave it with neither an answer nor an ending (the
 * watchdog re-enqueues only turns still on the list). So: a head that has ended is released; one
 * that has not is waited for, up to the grace, then ended with one error (claim-guarded, as the
 * worker ends any turn) and released, so the session answers its next turn.
 */
export class LostHeadTurns {
  constructor(
    private readonly deps: LostHeadDeps,
    private readonly graceMs: number,
  ) {}

  /** 'released': the head is off the list, look again; 'waiting': the job waits behind it. */
  async settle(job: Job<TurnJobData, void, 'turn'>, sessionId: string, head: string): Promise<'released' | 'waiting'> {
    const { store, turnLog } = this.deps;
    const progress = await turnLog.peek(sessionId, head);
    if (progress.ended) {
      // Answered or ended, and its job trimmed since: only the release was missed.
      await store.scripts.finishTurn(sessionId, head);
      return 'released';
    }
    const mark = markOf(job);
    const now = Date.now();
    if (mark?.lost_head !== head) {
      // First seen lost: always give the watchdog its chance before giving up on it.
      await job.updateProgress({ lost_head: head, since: now } satisfies LostHeadMark);
      return 'waiting';
    }
    if (now - mark.since < this.graceMs) return 'waiting';
    return (await this.end(sessionId, head)) ? 'released' : 'waiting';
  }

  /** The head is alive (its job came back): a later loss starts a fresh wait. */
  async forget(job: Job<TurnJobData, void, 'turn'>): Promise<void> {
    if (markOf(job)) await job.updateProgress(0);
  }

  /** Ends the lost turn with one error and releases it; false if its job came back and owns it. */
  private async end(sessionId: string, head: string): Promise<boolean> {
    const { store, turnLog, metrics, logger } = this.deps;
    const queue = this.deps.queues.forSession(sessionId);
    const claim = await turnLog.claim(sessionId, head);
    if (claim.status !== 'ended') {
      const code: ErrorCode = claim.status === 'cancelled' ? 'cancelled' : 'llm_stream_interrupted';
      try {
        await new TurnPublisher(turnLog, sessionId, head, claim, () => {}).error(code);
        metrics.error(code);
        logger.warn({ session_id: sessionId, message_id: head, code }, 'turn job lost and not enqueued again in time: ended it so its session can move on');
      } catch (err) {
        // Its job came back and claimed the turn after this claim: that attempt answers it.
        if (err instanceof TurnLostError && err.reason === 'superseded') return false;
        if (!(err instanceof TurnLostError && err.reason === 'ended')) throw err;
      }
    }
    // A copy of its job enqueued meanwhile must not answer it after its ending.
    await queue.remove(head).catch(() => 0);
    await store.scripts.finishTurn(sessionId, head);
    return true;
  }
}

function markOf(job: Job<TurnJobData, void, 'turn'>): LostHeadMark | null {
  const progress: unknown = job.progress;
  if (typeof progress !== 'object' || progress === null) return null;
  const mark = progress as Partial<LostHeadMark>;
  return typeof mark.lost_head === 'string' && typeof mark.since === 'number' ? { lost_head: mark.lost_head, since: mark.since } : null;
}
