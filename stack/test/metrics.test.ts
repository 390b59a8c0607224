/** /metrics and /stats expose the named metrics, and their values move with traffic. */
import t from 'tap';
import { createSession, getJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { eventually } from './helpers/eventually.js';
import { TestSocket } from './helpers/ws-client.js';

function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}` : ''}`) && !l.startsWith('#'));
  if (!line) return NaN;
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('gateway and worker metrics move with a chat turn', async (t) => {
  const stack = await startInProcessStack(t);
  const metricsUrl = `${stack.httpUrl()}/metrics`;
  const before = await (await fetch(metricsUrl)).text();
  for (const name of [
    'chat_gateway_open_sockets',
    'chat_gateway_active_sessions',
    'chat_gateway_subscriptions',
    'chat_gateway_connections_total',
    'chat_gateway_frames_out_total',
    'chat_gateway_delivery_lag_seconds',
    'chat_gateway_http_requests_total',
    'chat_queue_jobs',
    'process_cpu_seconds_total',
  ]) {
    t.match(before, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exposed`);
  }
  t.equal(sample(before, 'chat_gateway_open_sockets'), 0);

  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!' });
  const { chunks } = await socket.turn(null);

  const after = await (await fetch(metricsUrl)).text();
  t.equal(sample(after, 'chat_gateway_open_sockets'), 1, 'one socket open');
  t.equal(sample(after, 'chat_gateway_active_sessions'), 1);
  t.equal(sample(after, 'chat_gateway_subscriptions'), 1, 'one session channel subscribed');
  t.equal(sample(after, 'chat_gateway_frames_out_total', 'kind="chunk"'), chunks.length, 'every chunk counted once');
  t.equal(sample(after, 'chat_gateway_frames_out_total', 'kind="complete"'), 1);
  t.equal(sample(after, 'chat_gateway_delivery_lag_seconds_count'), chunks.length + 1, 'delivery lag observed per frame');
  t.equal(sample(after, 'chat_gateway_turns_accepted_total', 'via="ws"'), 1);
  t.equal(sample(after, 'chat_gateway_turns_ended_total', 'outcome="complete"'), 1, 'the turn is counted once, from its complete frame');
  t.equal(sample(after, 'chat_gateway_turn_ttft_seconds_count'), 1);
  t.equal(sample(after, 'chat_gateway_turn_response_seconds_count'), 1);
  t.equal(sample(after, 'chat_gateway_http_requests_total', 'route="POST /chat/session"'), 1);

  // The worker records the turn just after it publishes `complete`.
  const workerMetrics = await eventually(
    async () => (await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/metrics`)).text(),
    (text) => sample(text, 'chat_worker_turns_total', 'outcome="completed"') === 1,
  );
  t.equal(sample(workerMetrics, 'chat_worker_turns_total', 'outcome="completed"'), 1);
  t.equal(sample(workerMetrics, 'chat_queue_wait_seconds_count'), 1);
  t.equal(sample(workerMetrics, 'chat_llm_ttft_seconds_count'), 1);
  t.equal(sample(workerMetrics, 'chat_turn_duration_seconds_count'), 1);
  t.equal(sample(workerMetrics, 'chat_chunks_published_total'), chunks.length);
  t.equal(sample(workerMetrics, 'chat_chunk_gap_seconds_count'), chunks.length - 1, 'a gap per pair of chunks');
  t.ok(sample(workerMetrics, 'chat_llm_tokens_total', 'kind="completion"') > 0, 'completion tokens counted');
  t.equal(sample(workerMetrics, 'chat_worker_active_turns'), 0, 'no turn left active');
  const workerHealth = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/health`)).json();
  t.match(workerHealth, { healthy: true, redis_status: 'connected', running: true });

  socket.close();
  await socket.waitForClose();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closed = await (await fetch(metricsUrl)).text();
  t.equal(sample(closed, 'chat_gateway_open_sockets'), 0, 'the socket is gone');
  t.equal(sample(closed, 'chat_gateway_subscriptions'), 0, 'and the channel unsubscribed with the last socket');

  const { body: stats } = await getJson<Record<string, any>>(`${stack.httpUrl()}/stats`);
  t.equal(stats.metrics.chat_gateway_frames_out_total.values.find((v: { labels: { kind: string } }) => v.labels.kind === 'complete').value, 1, '/stats carries the same figures as JSON');
});
