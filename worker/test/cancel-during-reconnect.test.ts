/**
 * A cancel is never lost to a reconnect of the worker's control connection: pub/sub drops what
 * is published while a subscriber is away, so the worker reads the cancel markers of the turns it
 * runs once its subscription is back, and stops those marked as the message would have.
 *
 * A whole ChatWorker (real Redis, the offline model in-process, answering slowly) runs one turn;
 * the control connection is cut and the cancel sent (marker, then publish, as the gateway's
 * TurnCanceller does) in the same pipeline, so the publish certainly reaches nobody.
 */
import t from 'tap';
import { OfflineLlmServer } from '@chat/offline-llm';
import { RedisKeys, SessionStore, TurnLog, closeRedis, createRedisConnection, createTurnQueue, envelopeBody, loadConfig, type TurnJobData } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { ChatWorker } from '../src/chat-worker.js';
import { until } from './helpers/turn-harness.js';
import { cancelWhileControlIsCut } from './helpers/lost-cancel.js';

t.test('a cancel published while the control connection reconnects still stops the turn', async (t) => {
  const server = await spawnRedisServer();
  // About 30 s of answer: far longer than a reconnect, so only a cancel ends it early.
  const llm = new OfflineLlmServer({ ttftMs: 0, tokensPerSecond: 20, answerTokens: 600, fillToAnswerTokens: true });
  const llmPort = await llm.listen(0);
  const prefix = `t${Date.now().toString(36)}`;
  const config = loadConfig({}, { redis: { url: server.url, prefix }, offlineLlm: { port: llmPort }, log: { level: 'silent' }, llm: { maxTokens: 1000 } });
  const keys = new RedisKeys(prefix);
  const redis = createRedisConnection(server.url, { name: 'test' });
  const queueConnection = createRedisConnection(server.url, { name: 'test-queue', forBullmq: true });
  const queue = createTurnQueue(config, queueConnection);
  const worker = new ChatWorker({ config, serveMetrics: false });
  t.teardown(async () => {
    try {
      await worker.close();
      await queue.close();
      await closeRedis(redis);
      await closeRedis(queueConnection);
      await llm.close();
    } finally {
      await server.stop();
    }
  });
  await worker.start();

  const store = new SessionStore(redis, keys, 3600);
  const turnLog = new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 4096 });
  const context = { customer_name: 'Test', customer_email: 'test@example.com', flight_no: null, date: null, created_at: new Date().toISOString() };
  await store.create({ session_id: 's1', context });
  t.equal(await store.scripts.acceptTurn('s1', 'm1', 3600), 'queued');
  const data: TurnJobData = { session_id: 's1', message_id: 'm1', client_id: null, message: 'What are the excess baggage fees?', accepted_at: Date.now() };
  await queue.add('turn', data, { jobId: 'm1' });
  // Streaming: the worker is running it now.
  await until(() => turnLog.peek('s1', 'm1'), (progress) => progress.nextSeq >= 2);

  const { cut, reached } = await cancelWhileControlIsCut(redis, keys, 's1', 'm1');
  t.ok(cut >= 1, 'the control connection was cut');
  t.equal(reached, 0, 'so the cancel message reached no worker');

  const ended = await until(() => turnLog.read('s1', 'm1', -1), (read) => read.ended);
  const last = ended.frames.at(-1)!;
  const frame = JSON.parse(envelopeBody(last.envelope).toString('utf8')) as { type: string; code?: string };
  t.same({ type: frame.type, code: frame.code }, { type: 'error', code: 'cancelled' }, 'the turn ended as cancelled, not completed');
});
