import type { WorkerOptions } from 'bullmq';
import type { Config } from '@chat/shared';

/**
 * How BullMQ treats a turn whose worker died (killed, or paused past its lock): the job's lock
 * lapses, a stalled check moves it back to the queue, and another worker runs it again.
 *
 * A death is an attempt, as a failure is: JOB_ATTEMPTS bounds both. BullMQ counts them apart
 * (a stall does not add to `attemptsMade`, which is what bounds retries after a failure) and
 * fails a job whose stall count exceeds `maxStalledCount` when it is next picked up, without
 * running it. So with JOB_ATTEMPTS = n a turn may stall n - 1 times and still get its n-th run;
 * at least once, so that one death is always survived even with JOB_ATTEMPTS = 1.
 */
export function stallPolicy(config: Config): Required<Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>> {
  return {
    // BullMQ's defaults (30 s lock, 30 s stalled check) would leave a killed worker's clients
    // waiting up to a minute; with these the turn moves to another worker within seconds (the
    // lock is renewed at half).
    lockDuration: config.worker.lockMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: Math.max(1, config.worker.jobAttempts - 1),
  };
}
