/**
 * Gateways and workers scale apart: a socket on gateway B receives the answer to a message
 * posted on gateway A, whichever worker takes the job.
 *
 *   client ──POST /chat/message──▶ gateway A ──job──▶ BullMQ ──▶ worker 1 or 2
 *                                                                    │ PUBLISH session channel
 *   socket ◀──chunk…complete── gateway B ◀── SUBSCRIBE ◀── Redis ◀──┘
 */
import t from 'tap';
import { get } from 'node:http';
import { createSession, postJson } from './helpers/http-client.js';
import { startLocalStack } from './helpers/local-stack.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { eventually } from './helpers/eventually.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('in process: two gateways, two workers, a socket on B gets the answer to a message posted on A', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, workers: 2, offline: { ttftMs: 20, tokensPerSecond: 500, answerTokens: 30 } });
  const sessions = await Promise.all(Array.from({ length: 6 }, () => createSession(stack.httpUrl(0))));
  const sockets = await Promise.all(sessions.map((id) => TestSocket.open(stack.wsUrl(id, 'on-b', 1))));
  t.teardown(() => sockets.forEach((s) => s.close()));
  const posted = await Promise.all(
    sessions.map((id) => postJson<{ message_id: string }>(`${stack.httpUrl(0)}/chat/message`, { session_id: id, message: 'I need information about flight NZ123 from Auckland to Sydney' })),
  );
  const turns = await Promise.all(sockets.map((socket, i) => socket.turn(posted[i]!.body.message_id)));
  for (const [i, turn] of turns.entries()) {
    t.equal(turn.end.type, 'complete', `session ${i + 1} completes on gateway B`);
    t.equal(turn.chunks.map((c) => c.content).join(''), turn.end.content);
  }
  const completedBy = await eventually(
    () =>
      Promise.all(
        stack.workers.map(async (w) => Number((await w.metrics.registry.getSingleMetric('chat_worker_turns_total')?.get())?.values.find((v) => v.labels.outcome === 'completed')?.value ?? 0)),
      ),
    (counts) => counts.reduce((a, b) => a + b, 0) === 6,
  );
  t.equal(completedBy.reduce((a, b) => a + b, 0), 6, `the two workers answered 6 turns between them (${completedBy.join(' + ')})`);
});

t.test('separate processes: the start command layout (Redis, offline model, 2 gateways on one port, 2 workers)', async (t) => {
  const running = await startLocalStack(t, { gateways: 2, workers: 2, env: { OFFLINE_LLM_TTFT_MS: '10', OFFLINE_LLM_TOKENS_PER_SECOND: '0' } });
  t.equal(running.gateways.length, 2);
  // Both gateway processes accept on the same port; the kernel spreads connections between
  // them, so over a few sockets both are used and every socket still gets every frame.
  const sessionId = await createSession(running.httpUrl);
  const sockets = await Promise.all(Array.from({ length: 6 }, (_, i) => TestSocket.open(`${running.wsUrl}/ws/${sessionId}/client-${i}`)));
  t.teardown(() => sockets.forEach((s) => s.close()));
  // A fresh TCP connection per request (no keep-alive), so the kernel picks a process each time.
  const gatewayIds = new Set<string>();
  for (let i = 0; i < 40 && gatewayIds.size < 2; i++) gatewayIds.add(await healthOnNewConnection(running.httpUrl));
  t.equal(gatewayIds.size, 2, 'two gateway processes answer on the one port');

  const posted = await postJson<{ message_id: string }>(`${running.httpUrl}/chat/message`, { session_id: sessionId, message: 'Hello there!' });
  t.equal(posted.status, 200);
  const turns = await Promise.all(sockets.map((s) => s.turn(posted.body.message_id)));
  t.ok(turns.every((turn) => turn.end.type === 'complete'), 'all six sockets get the complete frame');
  t.equal(new Set(turns.map((turn) => turn.end.content)).size, 1, 'with the same answer');

  await running.stop();
  const closes = await Promise.all(sockets.map((s) => s.waitForClose()));
  t.same(new Set(closes.map((c) => c.code)), new Set([1001]), 'stopping the stack closes client sockets with 1001');
  t.ok([...running.gateways, ...running.workers].every((part) => !part.running), 'every process exited');
});

function healthOnNewConnection(httpUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${httpUrl}/health`, { agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve((JSON.parse(body) as { gateway_id: string }).gateway_id));
    }).on('error', reject);
  });
}
