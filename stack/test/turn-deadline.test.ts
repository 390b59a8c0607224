/**
 * Nothing left hanging (issue 5): a turn whose job vanished from the queue (as in a Redis
 * failover) is enqueued again by the gateway that accepted it; a turn nobody ends by its
 * deadline gets exactly one `timeout` error; a worker past the deadline stops itself; a turn
 * whose job failed for good without writing an ending is ended by the gateway at once.
 */
import t from 'tap';
import { UnrecoverableError, Worker } from 'bullmq';
import { RedisKeys, SessionStore, TURN_QUEUE_NAME, TurnLog, createRedisConnection, createTurnQueue, type TurnJobData } from '@chat/shared';
import { ChatWorker } from '@chat/worker';
import { eventually } from './helpers/eventually.js';
import { createSession } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('a job that vanished from the queue is enqueued again and answered', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0, config: { turn: { deadlineMs: 20_000 } } });
  const connection = createRedisConnection(stack.redis.url, { name: 'test-queue', forBullmq: true });
  const queue = createTurnQueue(stack.config, connection);
  t.teardown(async () => {
    await queue.close();
    connection.disconnect();
  });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!', message_id: 'lost-in-failover' });
  await eventually(() => queue.getJobState('lost-in-failover'), (s) => s === 'waiting');
  // No worker yet: the job waits. Then it is lost, as a failover to a stale replica would lose it.
  t.equal(await queue.remove('lost-in-failover'), 1, 'the job is gone');
  const requeued = await eventually(() => queue.getJobState('lost-in-failover'), (s) => s === 'waiting', 10_000);
  t.equal(requeued, 'waiting', 'the gateway enqueued it again under the same id');

  const worker = new ChatWorker({ config: stack.config, serveMetrics: false });
  t.teardown(() => worker.close());
  await worker.start();
  const { end } = await socket.turn('lost-in-failover', 15_000);
  t.equal(end.type, 'complete', 'and it was answered');
  t.same(readTurn(socket.frames, 'lost-in-failover').problems, []);
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  t.match(metrics, /chat_gateway_turns_requeued_total\{[^}]*\} 1/);
});

t.test('no worker ever comes: the gateway ends the turn at its deadline with one timeout error', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0, config: { turn: { deadlineMs: 1000 } } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!', message_id: 'never-answered' });
  socket.send({ message: 'And this one?', message_id: 'behind-it' });
  const { end } = await socket.turn('never-answered', 10_000);
  t.equal(end.code, 'timeout', 'a clear timeout, not silence');
  const second = await socket.turn('behind-it', 10_000);
  t.equal(second.end.code, 'timeout', 'the turn behind it too: no socket waits forever');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(socket.frames.filter((f) => f.type === 'error' && f.message_id === 'never-answered').length, 1, 'exactly one ending');
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  t.match(metrics, /chat_gateway_watched_turns\{[^}]*\} 0/, 'nothing left in flight');
});

t.test('a worker whose answer runs past the deadline stops it with timeout', async (t) => {
  const stack = await startInProcessStack(t, {
    offline: { ttftMs: 10, tokensPerSecond: 20, answerTokens: 400, fillToAnswerTokens: true },
    config: { turn: { deadlineMs: 1500 } },
  });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Tell me everything', message_id: 'too-long' });
  const { chunks, end } = await socket.turn('too-long', 10_000);
  t.equal(end.code, 'timeout');
  t.ok(chunks.length > 0, 'after the chunks that made it in time');
  t.same(readTurn(socket.frames, 'too-long').problems, []);
  const stats = await eventually(() => stack.offline.stats(), (s) => s.streams_active === 0);
  t.equal(stats.streams_aborted, 1, 'the generation was stopped');
});

/**
 * A turn whose job fails for good without any of the service's code writing an ending: BullMQ
 * fails a job that stalled too often without running it, and a last attempt whose Redis writes
 * failed cannot write one. A bare BullMQ worker plays that part here.
 */
for (const leftInList of [true, false]) {
  const how = leftInList ? 'still first in its session' : 'claimed, then taken off its session (the worker\'s cleanup ran)';
  t.test(`a job failed for good with no ending, ${how}: the gateway ends the turn at once, not at the deadline`, async (t) => {
    const stack = await startInProcessStack(t, { workers: 0, config: { turn: { deadlineMs: 60_000 } } });
    const sessionId = await createSession(stack.httpUrl());
    const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
    t.teardown(() => socket.close());
    const store = new SessionStore(stack.redisClient, new RedisKeys(stack.config.redis.prefix), stack.config.session.ttlSeconds);
    const turnLog = new TurnLog(stack.redisClient, new RedisKeys(stack.config.redis.prefix), { ttlSeconds: 300, maxFrames: 1000 });
    const connection = createRedisConnection(stack.redis.url, { name: 'test-bare-worker', forBullmq: true });
    const bare = new Worker<TurnJobData>(
      TURN_QUEUE_NAME,
      async (job) => {
        if (!leftInList) {
          // A last attempt that claimed the turn, could not write its ending, and released the session.
          await turnLog.claim(job.data.session_id, job.data.message_id);
          await store.scripts.finishTurn(job.data.session_id, job.data.message_id);
        }
        throw new UnrecoverableError('job stalled more than allowable limit');
      },
      { connection, prefix: new RedisKeys(stack.config.redis.prefix).bullPrefix },
    );
    t.teardown(async () => {
      await bare.close();
      connection.disconnect();
    });
    const queueConnection = createRedisConnection(stack.redis.url, { name: 'test-queue', forBullmq: true });
    const queue = createTurnQueue(stack.config, queueConnection);
    t.teardown(async () => {
      await queue.close();
      queueConnection.disconnect();
    });

    socket.send({ message: 'Where is my bag?', message_id: 'failed-silently' });
    const { end } = await socket.turn('failed-silently', 30_000);
    t.equal(end.code, 'llm_stream_interrupted', 'one clear error, long before the 60 s deadline');
    t.same(readTurn(socket.frames, 'failed-silently').problems, []);
    t.equal(await queue.getJobState('failed-silently'), 'failed', 'the job stays a dead letter an operator can replay');
    // The ending is published before the session is released: wait for the release, not a moment.
    t.same(await eventually(() => store.unansweredTurns(sessionId), (ids) => ids.length === 0, 10_000), [], 'and the session can take its next turn');
  });
}
