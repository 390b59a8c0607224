/**
 * JOB_ATTEMPTS bounds a turn's runs, whether a run ends in a failure or in its worker's death
 * (issue 16): with the stall policy the workers use, a turn whose worker dies JOB_ATTEMPTS - 1
 * times is still run; one more death fails it. Real BullMQ on a real Redis; a worker "dies" by
 * being closed by force mid-job (its lock is no longer renewed and lapses, as a SIGKILL leaves it).
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import t, { type Test } from 'tap';
import { RedisKeys, TURN_QUEUE_NAME, createRedisConnection, createTurnQueue, loadConfig, type TurnJobData } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { stallPolicy } from '../src/stall-policy.js';

const redisServer = await spawnRedisServer();
t.teardown(() => redisServer.stop());

async function runWithDeaths(t: Test, jobAttempts: number, deaths: number): Promise<{ state: string; runs: number }> {
  const config = loadConfig({
    REDIS_URL: redisServer.url,
    REDIS_PREFIX: `t${randomBytes(4).toString('hex')}`,
    JOB_ATTEMPTS: String(jobAttempts),
    WORKER_LOCK_MS: '300',
    WORKER_STALLED_INTERVAL_MS: '100',
  });
  const connection = createRedisConnection(redisServer.url, { name: 'stall-test', forBullmq: true });
  const queue = createTurnQueue(config, connection);
  t.teardown(async () => {
    await queue.close();
    connection.disconnect();
  });
  const data: TurnJobData = { session_id: 's1', message_id: 'm1', client_id: null, message: 'hello', accepted_at: Date.now() };
  await queue.add('turn', data, { jobId: 'm1' });
  let runs = 0;
  const startWorker = (processor: () => Promise<void>) => {
    const workerConnection = createRedisConnection(redisServer.url, { name: 'stall-test-worker', forBullmq: true });
    t.teardown(() => workerConnection.disconnect());
    const worker = new Worker<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, processor, {
      connection: workerConnection,
      prefix: new RedisKeys(config.redis.prefix).bullPrefix,
      ...stallPolicy(config),
    });
    worker.on('error', () => {});
    return worker;
  };
  for (let death = 0; death < deaths; death++) {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const dying = startWorker(() => {
      runs++;
      started();
      return new Promise<void>(() => {});
    });
    await running;
    await dying.close(true);
  }
  // A healthy worker: it finds the dead run's job stalled and runs it, unless stalled too often.
  const healthy = startWorker(async () => {
    runs++;
  });
  t.teardown(() => healthy.close(true));
  const deadline = Date.now() + 20_000;
  let state = await queue.getJobState('m1');
  while (state !== 'completed' && state !== 'failed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = await queue.getJobState('m1');
  }
  return { state, runs };
}

t.test('JOB_ATTEMPTS 3: two deaths, then the third run answers', async (t) => {
  t.same(await runWithDeaths(t, 3, 2), { state: 'completed', runs: 3 });
});

t.test('JOB_ATTEMPTS 3: a third death fails the turn without a fourth run', async (t) => {
  t.same(await runWithDeaths(t, 3, 3), { state: 'failed', runs: 3 });
});

t.test('JOB_ATTEMPTS 1: one death is still survived', async (t) => {
  t.same(await runWithDeaths(t, 1, 1), { state: 'completed', runs: 2 });
});
